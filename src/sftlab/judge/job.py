"""``sftlab judge``: load a base model (and optionally a saved adapter), then generate and grade.

One tracked run per job, like a training job: it ends FINISHED, FAILED (with the error as the
``error`` tag) or KILLED, never RUNNING. Every check that needs no weights (config values, the
adapter folder, the suites, the judge's URL and key) runs before the model loads. The adapter's
folder names its base model and quantization, so ``model=`` is needed only without one.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


def run_job(cfg: DictConfig) -> str:
    """Open the run, load, generate, grade, record; returns the markdown score report."""
    from sftlab.config.secrets import config_yaml
    from sftlab.generate.prompt_formats import check_format
    from sftlab.judge.stage import preflight
    from sftlab.track.adapter_source import with_adapter
    from sftlab.track.naming import run_name
    from sftlab.track.tracker import closes_run, config_hash, flatten, git_commit, make_tracker

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    output_dir = Path(cfg.paths.output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    cfg, source = with_adapter(cfg, "judge_run")
    check_format(cfg.model.prompt_format)
    preflight(cfg)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    (output_dir / "config.yaml").write_text(config_yaml(resolved))  # secrets masked
    tracker = make_tracker(cfg.logger)
    tags = {
        "model": cfg.model.name,
        "adapter": source.path if source else "",
        "quantization": cfg.quantization.name,
        "config_hash": config_hash(resolved),
        "git_commit": git_commit(str(Path(__file__).resolve().parent)),
        "sftlab.stage": "judge",
    }
    if source and source.run_id:
        tags["sftlab.adapter_run_id"] = source.run_id
    tracker.start(run_name(cfg), flatten(resolved), tags)
    with closes_run(tracker):
        tracker.log_artifact(output_dir / "config.yaml")
        text = _judge(cfg, tracker, output_dir, source.path if source else None)
    return text


def _judge(cfg, tracker, output_dir: Path, adapter: str | None) -> str:
    from sftlab.judge.stage import model_label, run_judging
    from sftlab.model.loading import load_adapter, load_model, load_tokenizer, resolve_source
    from sftlab.model.precision import resolve_precision
    from sftlab.model.quantization import build_bnb_config

    precision = resolve_precision(cfg.model.dtype, cfg.quantization.bnb_4bit_compute_dtype, None)
    bnb = build_bnb_config(cfg.quantization, precision.compute_dtype)
    source = resolve_source(cfg.model)
    tokenizer = load_tokenizer(cfg.model, source)
    log.info("Loading %s from %s (quantization=%s)", cfg.model.name, source, cfg.quantization.name)
    held = [load_model(cfg.model, source, bnb, precision.model_dtype)]  # a list, so the judge can free it
    if adapter is not None:
        held[0] = load_adapter(held[0], adapter)
    _, text = run_judging(
        cfg,
        held[0],
        tokenizer,
        tracker,
        output_dir / "judge",
        model_label(cfg.model, adapter),
        release=held.clear,
    )
    return text


def main(cfg: DictConfig) -> None:
    """``sftlab judge``: generate, grade, print the score report."""
    print(run_job(cfg), flush=True)
