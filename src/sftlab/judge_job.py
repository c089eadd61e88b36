"""``judge.py``'s job: load a base model (and optionally a saved adapter), then generate and grade.

One tracked run per job, like a training job: it ends FINISHED, FAILED (with the error as the
``error`` tag) or KILLED, never RUNNING. Every check that needs no weights (config values, the
adapter folder, the suites, the judge's URL and key) runs before the model loads.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sftlab.errors import ConfigError

log = logging.getLogger(__name__)


def check_adapter(cfg) -> Path | None:
    """The adapter folder, checked to exist and to belong to ``model``; None for the base model."""
    if not cfg.adapter:
        return None
    folder = Path(cfg.adapter).expanduser().resolve()
    if not (folder / "adapter_config.json").is_file():
        raise ConfigError(
            f"adapter: {folder} is not a saved adapter (no adapter_config.json); pass outputs/<date>/<time>/adapter"
        )
    info = folder / "sftlab_model.json"
    if info.is_file():
        base = json.loads(info.read_text()).get("base_model")
        if base and base != cfg.model.name:
            raise ConfigError(
                f"adapter: {folder} was trained on model={base}, not model={cfg.model.name}; pass model={base}"
            )
    return folder


def run_job(cfg: DictConfig) -> str:
    """Open the run, load, generate, grade, record; returns the markdown score report."""
    from sftlab.judging import preflight, run_judging
    from sftlab.pipeline import run_name
    from sftlab.tracking import closes_run, config_hash, flatten, git_commit, make_tracker

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    resolved = OmegaConf.to_container(cfg, resolve=True)
    output_dir = Path(cfg.paths.output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "config.yaml").write_text(OmegaConf.to_yaml(resolved))
    tracker = make_tracker(cfg.logger)
    tags = {
        "model": cfg.model.name,
        "adapter": str(cfg.adapter or ""),
        "quantization": cfg.quantization.name,
        "config_hash": config_hash(resolved),
        "git_commit": git_commit(str(Path(__file__).resolve().parent)),
        "sftlab.stage": "judge",
    }
    tracker.start(run_name(cfg), flatten(resolved), tags)
    with closes_run(tracker):
        tracker.log_artifact(output_dir / "config.yaml")
        text = _judge(cfg, tracker, output_dir, preflight, run_judging)
    return text


def _judge(cfg, tracker, output_dir: Path, preflight, run_judging) -> str:
    from sftlab.judging import model_label
    from sftlab.model_loading import load_adapter, load_model, load_tokenizer, resolve_source
    from sftlab.precision import resolve_precision
    from sftlab.prompt_formats import check_format
    from sftlab.quantization import build_bnb_config

    check_format(cfg.model.prompt_format)
    adapter = check_adapter(cfg)
    preflight(cfg)
    precision = resolve_precision(cfg.model.dtype, cfg.quantization.bnb_4bit_compute_dtype, None)
    bnb = build_bnb_config(cfg.quantization, precision.compute_dtype)
    source = resolve_source(cfg.model)
    tokenizer = load_tokenizer(cfg.model, source)
    log.info("Loading %s from %s (quantization=%s)", cfg.model.name, source, cfg.quantization.name)
    model = load_model(cfg.model, source, bnb, precision.model_dtype)
    if adapter is not None:
        model = load_adapter(model, str(adapter))
    _, text = run_judging(
        cfg, model, tokenizer, tracker, output_dir / "judge", model_label(cfg.model, adapter)
    )
    return text
