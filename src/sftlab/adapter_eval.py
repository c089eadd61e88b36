"""Evaluate an existing adapter (by MLflow run id or folder) or a bare base model, outside training.

``python eval_adapter.py`` composes ``conf/eval_adapter.yaml`` (model, quantization, eval,
logger groups plus ``adapter.run_id`` / ``adapter.path``) into :class:`AdapterEvalConfig`, then
:func:`run` loads the base exactly like training does, attaches the adapter, and scores both
through the same code as the post-training stage, in a new MLflow run of its own
(tag ``sftlab.stage=eval``, ``sftlab.adapter_run_id`` pointing at the training run).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from omegaconf import MISSING, DictConfig, OmegaConf

from sftlab.errors import ConfigError
from sftlab.schema import EvalConfig, LoggerConfig, ModelConfig, PathsConfig, QuantizationConfig

log = logging.getLogger(__name__)


@dataclass
class AdapterSourceConfig:
    """Where the adapter comes from: an MLflow run's ``adapter`` artifact or a folder; neither: none."""

    run_id: Optional[str] = None  # noqa: UP045
    path: Optional[str] = None  # noqa: UP045


@dataclass
class AdapterEvalConfig:
    """Root of ``conf/eval_adapter.yaml``."""

    model: ModelConfig = MISSING
    quantization: QuantizationConfig = MISSING
    eval: EvalConfig = MISSING
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    adapter: AdapterSourceConfig = field(default_factory=AdapterSourceConfig)
    bf16: Optional[bool] = None  # noqa: UP045 - null: bf16 where the hardware supports it, as in training
    task_name: str = "eval"


def register_eval_adapter_schema() -> None:
    """Register the schema as ``eval_adapter_schema`` (plus everything train.py registers)."""
    from hydra.core.config_store import ConfigStore

    from sftlab.schema import register_configs

    register_configs()
    ConfigStore.instance().store(name="eval_adapter_schema", node=AdapterEvalConfig)


def _download_adapter(cfg, dest: Path) -> tuple[str, dict]:
    """The adapter folder of MLflow run ``adapter.run_id`` (downloaded) and that run's params."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    run_id = cfg.adapter.run_id
    uri = cfg.logger.tracking_uri
    if not uri:
        raise ConfigError(
            "adapter.run_id needs an MLflow store; set logger.tracking_uri (logger=none has none)"
        )
    client = MlflowClient(tracking_uri=uri)
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise ConfigError(
            f"adapter.run_id: no MLflow run '{run_id}' in {uri}; check the id (mlflow ui) or use adapter.path"
        ) from None
    params = run.data.params
    if any(a.path == "adapter" for a in client.list_artifacts(run_id)):
        dest.mkdir(parents=True, exist_ok=True)
        return client.download_artifacts(run_id, "adapter", str(dest)), params
    local = Path(params.get("paths.output_dir", "")) / "adapter"
    if params.get("paths.output_dir") and (local / "adapter_config.json").is_file():
        return str(local), params  # trained with logger.log_adapter=false, still on this disk
    raise ConfigError(
        f"adapter.run_id: run '{run_id}' has no 'adapter' artifact (trained with logger.log_adapter=false?); "
        "use adapter.path=<folder>"
    )


def resolve_adapter(cfg, work_dir: Path) -> tuple[str | None, dict]:
    """``(adapter_dir or None, training-run params)``, checked against ``cfg.model``."""
    run_id, path = cfg.adapter.run_id, cfg.adapter.path
    if run_id and path:
        raise ConfigError("adapter: set adapter.run_id or adapter.path, not both")
    if not run_id and not path:
        return None, {}
    params: dict = {}
    if run_id:
        path, params = _download_adapter(cfg, work_dir / "downloaded")
    folder = Path(path).expanduser().resolve()
    if not (folder / "adapter_config.json").is_file():
        raise ConfigError(f"adapter.path: {folder} is not a peft adapter folder (no adapter_config.json)")
    trained_on = params.get("model.name")
    meta = folder / "sftlab_model.json"
    if meta.is_file():
        trained_on = json.loads(meta.read_text()).get("base_model", trained_on)
    if trained_on and trained_on != cfg.model.name:
        raise ConfigError(
            f"adapter: {folder} was trained on model '{trained_on}', not '{cfg.model.name}'; add model={trained_on}"
        )
    return str(folder), params


def attach_adapter(base, adapter_dir: str, model_name: str):
    """The base with the adapter loaded; a misfit (other architecture or sizes) is a ConfigError."""
    from sftlab.model_loading import load_adapter

    try:
        return load_adapter(base, adapter_dir)
    except (ValueError, RuntimeError, KeyError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(
            f"adapter: {adapter_dir} does not fit model '{model_name}' ({first[:300]})"
        ) from None


def run(cfg: DictConfig):
    """Evaluate the configured adapter (or the bare base) and record it in its own MLflow run."""
    from sftlab.eval_stage import evaluate_and_log
    from sftlab.lm_eval_tasks import check_task
    from sftlab.model_loading import load_model, load_tokenizer, resolve_source
    from sftlab.precision import resolve_precision
    from sftlab.quantization import build_bnb_config
    from sftlab.tracking import closes_run, flatten, git_commit, make_tracker

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    output_dir = Path(cfg.paths.output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    if not cfg.eval.enabled:
        raise ConfigError(
            "eval: the chosen eval option is disabled (eval=none); pick one, e.g. eval=belebele"
        )
    check_task(cfg.eval)  # task name and data file, before anything loads
    adapter_dir, _ = resolve_adapter(cfg, output_dir)

    resolved = OmegaConf.to_container(cfg, resolve=True)
    tracker = make_tracker(cfg.logger)
    subject = cfg.adapter.run_id or (Path(adapter_dir).parent.name if adapter_dir else cfg.model.name)
    tags = {
        "sftlab.stage": "eval",
        "model": cfg.model.name,
        "quantization": cfg.quantization.name,
        "git_commit": git_commit(str(Path(__file__).resolve().parent)),
    }
    if cfg.adapter.run_id:
        tags["sftlab.adapter_run_id"] = cfg.adapter.run_id
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
    return summary, tracker.run_id
