"""Data a run used, as MLflow dataset inputs: the UI's Datasets column and the run page's section.

Each input has a name, a digest (the first 16 hex digits of sftlab's own content hash, so the
UI shows the same fingerprint as the ``data_hash`` tag) and a source (the local file or the hub
dataset it was read from). Contexts: ``training`` (the split trained on), ``validation`` (the
held-out split behind ``train/eval_loss``) and ``evaluation`` (the benchmark, e.g. Belebele).
"""

from __future__ import annotations

import logging
import warnings

log = logging.getLogger(__name__)

DIGEST_CHARS = 16  # MLflow stores at most 36 characters of a digest


def source_of(path: str | None = None, hub_id: str | None = None, **hub_kwargs):
    """An ``mlflow.data`` source: a local file (absolute path) or a Hugging Face hub dataset."""
    if hub_id:
        from mlflow.data.huggingface_dataset_source import HuggingFaceDatasetSource

        return HuggingFaceDatasetSource(hub_id, **{k: v for k, v in hub_kwargs.items() if v})
    from pathlib import Path

    from mlflow.data.dataset_source_registry import resolve_dataset_source

    uri = str(Path(path).expanduser().resolve()) if path else "unknown"
    with warnings.catch_warnings():  # a local path matches MLflow's file source twice; same class
        warnings.simplefilter("ignore")
        return resolve_dataset_source(uri)


def dataset_input(name: str, digest: str, source, rows: list[dict] | None = None):
    """A dataset object for ``mlflow.log_input``: with ``rows`` a pandas dataset (the UI shows
    its row count and schema), else a metadata-only one."""
    digest = (digest or "unknown")[:DIGEST_CHARS]
    if rows:
        import mlflow.data
        import pandas as pd

        return mlflow.data.from_pandas(pd.DataFrame(rows), source=source, name=name, digest=digest)
    from mlflow.data.meta_dataset import MetaDataset

    return MetaDataset(source=source, name=name, digest=digest)


def log_dataset(
    tracker, name: str, digest: str, context: str, source, rows: list[dict] | None = None
) -> None:
    """Record one dataset input of ``tracker``'s run (nothing without an MLflow run)."""
    if not getattr(tracker, "run_id", None):
        return
    try:
        tracker.log_input(dataset_input(name, digest, source, rows), context=context)
    except Exception as e:  # an input the UI cannot show must not fail a finished training
        log.warning("could not log dataset input %s (%s: %s)", name, type(e).__name__, e)


def training_sources(dataset_cfg):
    """The source of the training data: its one file or hub dataset; for a mix, the first source
    (every source's name, path and count are in the run's ``data/stats.json``)."""
    first = dataset_cfg.sources[0]
    return source_of(first.get("path"), first.get("hub_id"), split=first.get("split"))


def log_training_data(tracker, dataset_cfg, train_ds, eval_ds) -> None:
    """The training split and the held-out split as inputs, digests from the ``data_hash`` tags."""
    run = tracker.get_run() if getattr(tracker, "run_id", None) else None
    if run is None:
        return
    tags = run.data.tags
    source = training_sources(dataset_cfg)
    log_dataset(
        tracker, f"{dataset_cfg.name}/train", tags.get("data_hash", ""), "training", source, list(train_ds)
    )
    if eval_ds is not None and len(eval_ds):
        digest = tags.get("data_eval_hash", "")
        log_dataset(tracker, f"{dataset_cfg.name}/held_out", digest, "validation", source, list(eval_ds))
