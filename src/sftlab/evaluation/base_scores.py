"""Base-model scores cached in MLflow: computed once per (model, quantization, precision, task,
data, few-shot, limit, eval batch size, device type, lm-eval/transformers/torch/bitsandbytes/peft
versions), reused by every later run and sweep job on the same tracking store.

A run that computes a base score tags itself ``sftlab.base_eval_key=<key>`` and
``sftlab.base_eval_reused=false``; later runs find it by that tag, copy its ``<prefix>/base_*``
metrics and record where they came from in ``sftlab.base_eval_source`` (a run id). Every run
also logs what its key was made of as ``eval/<prefix>_base_key.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging

log = logging.getLogger(__name__)

KEY_TAG = "sftlab.base_eval_key"
SOURCE_TAG = "sftlab.base_eval_source"
REUSED_TAG = "sftlab.base_eval_reused"


def model_identity(model_cfg) -> dict:
    """What determines the base weights: the build recipe of a tiny model, else id + revision."""
    if model_cfg.build is not None:
        b = model_cfg.build
        return {"build": {"base_config": b.base_config, "overrides": dict(b.overrides), "seed": b.seed}}
    return {"name_or_path": model_cfg.name_or_path, "revision": model_cfg.revision}


def stack_versions() -> dict[str, str]:
    """Versions of the libraries that compute a score: any of them can move it."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("lm_eval", "transformers", "torch", "bitsandbytes", "peft"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "absent"
    return out


def device_type(model) -> str:
    """``cuda`` / ``cpu`` / ``mps``: where the model's weights live (kernels differ per device)."""
    try:
        return next(model.parameters()).device.type
    except (AttributeError, StopIteration, TypeError):
        return "unknown"


def base_key_parts(model_cfg, quant_cfg, precision: dict, spec, eval_cfg, device: str) -> dict:
    """Everything a base score depends on: weights, quantization, precision, task, data, shots,
    limit, batch size (padding changes log-likelihoods), device type and library versions."""
    from omegaconf import OmegaConf

    quant = OmegaConf.to_container(quant_cfg, resolve=True) if not isinstance(quant_cfg, dict) else quant_cfg
    return {
        "model": model_identity(model_cfg),
        "quantization": {k: v for k, v in quant.items() if k != "name"},
        "precision": precision,
        "task": spec.task,
        "data": spec.data_id,
        "num_fewshot": eval_cfg.num_fewshot,
        "limit": eval_cfg.limit,
        "batch_size": eval_cfg.batch_size,
        "device": device,
        "versions": stack_versions(),
    }


def base_key(parts: dict) -> str:
    """The cache key of a base score (16 hex digits) from :func:`base_key_parts`."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def find_cached(
    tracking_uri: str, key: str, prefix: str, exclude_run: str | None = None, tag_suffix: str = ""
):
    """``(run_id, {metric: value})`` of the earliest run that computed this base score, or None.

    ``tag_suffix``: the suffix of the key/reused tags (``_chat`` for a chat-template pass,
    ``.<prefix>`` for a control task, whose tags sit beside the main task's in the same run)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return None
    runs = client.search_runs(
        experiments,
        filter_string=f"tags.`{KEY_TAG}{tag_suffix}` = '{key}' and tags.`{REUSED_TAG}{tag_suffix}` = 'false'",
        order_by=["attributes.start_time ASC"],
        max_results=50,
    )
    head = f"{prefix}/base_"
    for run in runs:
        if run.info.run_id == exclude_run:
            continue
        metrics = {k[len(head) :]: v for k, v in run.data.metrics.items() if k.startswith(head)}
        if metrics:
            return run.info.run_id, metrics
    return None
