"""``adapter=<folder | runs:/<run id> | run id>``: one spelling for a saved adapter in every command.

A folder saved by ``sftlab train`` holds ``sftlab_model.json`` (base model, quantization, prompt
format), so ``sftlab eval``, ``judge`` and ``chat`` take the base model from it: ``model=`` is
needed only for a bare base model, and a different ``model=`` than the adapter's is an error
naming both. A run id (or ``runs:/<id>``) downloads the run's ``adapter`` artifact.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from sftlab.config.errors import ConfigError

META_FILE = "sftlab_model.json"
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class AdapterSource:
    """A resolved adapter: its local folder, the MLflow run it came from, and what it was trained on."""

    path: str
    run_id: str | None = None
    meta: dict = field(default_factory=dict)

    @property
    def base_model(self) -> str | None:
        """The model config name the adapter was trained on (``model=<this>``), if recorded."""
        return self.meta.get("base_model")

    @property
    def quantization(self) -> str | None:
        """The quantization option it was trained with (``quantization=<this>``), if recorded."""
        return self.meta.get("quantization")


def _run_id_of(spec: str) -> str | None:
    if spec.startswith("runs:/"):
        return spec[len("runs:/") :].strip("/").split("/")[0]
    return spec if _RUN_ID.match(spec) and not Path(spec).exists() else None


def _download(run_id: str, tracking_uri: str | None, dest: Path) -> str:
    """The ``adapter`` artifact of run ``run_id`` as a local folder (or its folder on this disk)."""
    from mlflow.exceptions import MlflowException

    from sftlab.track.tracker import mlflow_client

    if not tracking_uri:
        raise ConfigError(
            "adapter: a run id needs an MLflow store; set logger.tracking_uri (logger=none has none)"
        )
    client = mlflow_client(tracking_uri)
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise ConfigError(
            f"adapter: no MLflow run '{run_id}' in {tracking_uri}; check the id (mlflow ui) or pass the adapter folder"
        ) from None
    if any(a.path == "adapter" for a in client.list_artifacts(run_id)):
        dest.mkdir(parents=True, exist_ok=True)
        return client.download_artifacts(run_id, "adapter", str(dest))
    local = Path(run.data.params.get("paths.output_dir", "")) / "adapter"
    if run.data.params.get("paths.output_dir") and (local / "adapter_config.json").is_file():
        return str(local)  # trained with logger.log_adapter=false, still on this disk
    raise ConfigError(
        f"adapter: run '{run_id}' has no 'adapter' artifact (trained with logger.log_adapter=false?); "
        "pass the adapter folder instead"
    )


def resolve_adapter(spec: str, tracking_uri: str | None, work_dir: Path) -> AdapterSource:
    """The adapter named by ``spec`` (folder, ``runs:/<id>`` or a run id), checked to be a peft adapter."""
    run_id = _run_id_of(str(spec))
    path = _download(run_id, tracking_uri, work_dir / "downloaded_adapter") if run_id else spec
    folder = Path(path).expanduser().resolve()
    if not (folder / "adapter_config.json").is_file():
        raise ConfigError(
            f"adapter: {folder} is not a saved adapter (no adapter_config.json); "
            "pass outputs/<date>/<time>/adapter, runs:/<run id> or a run id"
        )
    meta_path = folder / META_FILE
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    return AdapterSource(str(folder), run_id, meta)


def model_overrides(source: AdapterSource, model_name: str, quantization: str, chosen: set[str]) -> list[str]:
    """Overrides that make the composed config match the adapter's base model and quantization.

    ``chosen``: the config groups picked on the command line. A ``model=`` other than the
    adapter's base is an error; a chosen ``quantization=`` is kept (an NF4 adapter may be scored
    on an unquantized base); anything not chosen is taken from the adapter.
    """
    extra = []
    base = source.base_model
    if base and base != model_name:
        if "model" in chosen:
            raise ConfigError(
                f"adapter: {source.path} was trained on model={base}, not model={model_name}; "
                f"drop model= (the adapter names its base) or pass model={base}"
            )
        extra.append(f"model={base}")
    if source.quantization and source.quantization != quantization and "quantization" not in chosen:
        extra.append(f"quantization={source.quantization}")
    return extra


def with_adapter(cfg, config_name: str):
    """``(cfg, AdapterSource | None)``: the job's config re-composed for its ``adapter=``, if any."""
    from sftlab.config.compose import recompose, task_overrides

    if not cfg.adapter:
        return cfg, None
    source = resolve_adapter(cfg.adapter, cfg.logger.tracking_uri, Path(cfg.paths.output_dir))
    chosen = {o.split("=", 1)[0].lstrip("+~") for o in task_overrides() if "=" in o}
    extra = model_overrides(source, cfg.model.name, cfg.quantization.name, chosen)
    return (recompose(config_name, extra) if extra else cfg), source
