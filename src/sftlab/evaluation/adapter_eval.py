"""``sftlab eval``: score an existing adapter (folder, ``runs:/<id>`` or run id) or a bare base model.

``conf/eval_run.yaml`` composes the model, quantization, eval and logger groups plus
``adapter=``; the adapter's folder names its base model and quantization, so those are taken
from it (:mod:`sftlab.track.adapter_source`). :func:`run` loads the base exactly like training
does, attaches the adapter, and scores both through the same code as the post-training stage,
in a new MLflow run of its own (tag ``sftlab.stage=eval``, ``sftlab.adapter_run_id`` pointing at
the training run).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sftlab.config.errors import ConfigError

log = logging.getLogger(__name__)


def attach_adapter(base, adapter_dir: str, model_name: str):
    """The base with the adapter loaded; a misfit (other architecture or sizes) is a ConfigError."""
    from sftlab.model.loading import load_adapter

    try:
        return load_adapter(base, adapter_dir)
    except (ValueError, RuntimeError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(
            f"adapter: {adapter_dir} does not fit model '{model_name}' ({first[:300]})"
        ) from None


def run(cfg: DictConfig):
    """Evaluate the configured adapter (or the bare base) and record it in its own MLflow run."""
    from sftlab.evaluation.control import check_control
    from sftlab.evaluation.lm_eval_tasks import check_task
    from sftlab.evaluation.stage import evaluate_and_log, evaluate_control
    from sftlab.model.loading import load_model, load_tokenizer, resolve_source
    from sftlab.model.precision import resolve_precision
    from sftlab.model.quantization import build_bnb_config
    from sftlab.track.adapter_source import with_adapter
    from sftlab.track.run_card import finish_run
    from sftlab.track.tracker import closes_run, flatten, git_commit, make_tracker

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    output_dir = Path(cfg.paths.output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    if not cfg.eval.enabled:
        raise ConfigError(
            "eval: the chosen eval option is disabled (eval=none); pick one, e.g. eval=belebele"
        )
    check_task(cfg.eval)  # task name and data file, before anything loads
    check_control(cfg.eval)
    cfg, source = with_adapter(cfg, "eval_run")
    adapter_dir = source.path if source else None

    resolved = OmegaConf.to_container(cfg, resolve=True)
    tracker = make_tracker(cfg.logger)
    run_id = source.run_id if source else None
    subject = run_id or (Path(adapter_dir).parent.name if adapter_dir else cfg.model.name)
    tags = {
        "sftlab.stage": "eval",
        "model": cfg.model.name,
        "quantization": cfg.quantization.name,
        "git_commit": git_commit(str(Path(__file__).resolve().parent)),
    }
    if run_id:
        tags["sftlab.adapter_run_id"] = run_id
    if adapter_dir:
        tags["sftlab.adapter_path"] = adapter_dir
    tracker.start(cfg.logger.run_name or f"eval-{subject}", flatten(resolved), tags)
    with closes_run(tracker):
        precision = resolve_precision(cfg.model.dtype, cfg.quantization.bnb_4bit_compute_dtype, cfg.bf16)
        bnb = build_bnb_config(cfg.quantization, precision.compute_dtype)
        source = resolve_source(cfg.model)
        tokenizer = load_tokenizer(cfg.model, source)
        model = load_model(cfg.model, source, bnb, precision.model_dtype)
        if adapter_dir:
            model = attach_adapter(model, adapter_dir, cfg.model.name)
        summary = evaluate_and_log(
            cfg,
            tracker,
            model,
            tokenizer,
            output_dir,
            has_adapter=adapter_dir is not None,
            precision={"model_dtype": precision.model_dtype, "compute_dtype": precision.compute_dtype},
        )
        evaluate_control(
            cfg, tracker, model, tokenizer, output_dir, adapter_dir is not None,
            precision={"model_dtype": precision.model_dtype, "compute_dtype": precision.compute_dtype},
        )  # fmt: skip
        finish_run(tracker, title=cfg.logger.run_name or f"eval-{subject}")  # chart + result card
    return summary, tracker.run_id


def main(cfg: DictConfig) -> float:
    """``sftlab eval``: evaluate (the stage prints the scores), say where they were recorded; return the accuracy."""
    summary, run_id = run(cfg)
    if run_id:
        print(f"MLflow run: {run_id} (experiment '{cfg.logger.experiment_name}')", flush=True)
    scores = summary.adapter if summary.adapter is not None else summary.base
    return float(scores.get("acc", float("nan")))
