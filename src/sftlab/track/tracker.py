"""MLflow tracking: check the store, open one run per job, log, and always close the run.

A run ends FINISHED, FAILED (with the error text as the ``error`` tag) or KILLED (Ctrl-C),
never left RUNNING. ``logger=none`` swaps in :class:`NullTracker`, which logs nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from sftlab.config.errors import TrackingError
from sftlab.config.secrets import redact_params, redact_text
from sftlab.track.liveness import Heartbeat, process_tags, reap_quietly

log = logging.getLogger(__name__)

MAX_PARAM_LEN = 6000  # MLflow's limit for a param value
# MLflow 3's UI offers two kinds of experiment, "GenAI apps & agents" and "Machine learning"; this
# tag value is what the UI itself writes when a person picks "Machine learning" (model training).
KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING = "custom_model_development"
NOTE_TAG = "mlflow.note.content"  # the description the UI renders as markdown (experiment or run)


def command_line() -> str:
    """How this process was started, as a person would type it (``python train.py lora.r=8``)."""
    import shlex
    import sys

    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "sftlab"
    if prog == "__main__.py":
        prog = "python -m sftlab"
    elif prog.endswith(".py"):
        prog = f"python {prog}"
    return " ".join([prog, *(shlex.quote(a) for a in sys.argv[1:])])


def experiment_tags(name: str) -> dict[str, str]:
    """Tags of an experiment sftlab creates: the model-training kind and a description."""
    note = (
        f"**{name}**: fine-tuning runs recorded by sftlab "
        "(QLoRA training, Belebele base vs adapter, judge scores). One run per training job; "
        "a sweep (`-m`) is a parent run with one child per job. Each run's description is its "
        "result card. The runs are in the *Model training* view (the sidebar's GenAI / Model "
        "training switch; links printed by `sftlab train` open it directly).\n\n"
        f"Created by `{redact_text(command_line())}`."
    )
    return {KIND_TAG: MODEL_TRAINING, NOTE_TAG: note}


def flatten(d: dict, prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": "1"}``; lists are kept as their JSON text."""
    out: dict[str, str] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            text = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
            out[name] = text[:MAX_PARAM_LEN]
    return out


def config_hash(resolved: dict) -> str:
    """Stable hash of what determines a run's result (not where it is logged or written)."""
    # The top-level ``seed`` is an alias whose value lives on in ``training.seed``: leaving it out
    # makes ``seed=3`` and ``training.seed=3`` one config, and keeps hashes of runs made before the alias.
    relevant = {k: v for k, v in resolved.items() if k not in ("logger", "paths", "force", "resume", "seed")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


def mlflow_client(uri: str):
    """An ``MlflowClient`` on the store ``uri`` (mlflow is imported only when a store is used)."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def newest_run_with_hash(tracking_uri: str, experiment_name: str, chash: str, extra_filter: str = ""):
    """The newest run of ``experiment_name`` tagged ``config_hash=chash`` (and ``extra_filter``), or None.

    Shared by sweep skipping (a FINISHED run) and ``resume=true`` (an unfinished training run).
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    exp = client.get_experiment_by_name(experiment_name)
    if exp is None:
        return None
    query = f"tags.config_hash = '{chash}'" + (f" and {extra_filter}" if extra_filter else "")
    runs = client.search_runs(
        [exp.experiment_id], filter_string=query, order_by=["attributes.start_time DESC"], max_results=1
    )
    return runs[0] if runs else None


def git_commit(cwd: str | None = None) -> str:
    """The current git commit (with ``-dirty`` if the tree has changes), or ``unknown``."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return "unknown"
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return sha.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _writable(db: Path) -> bool:
    """Whether the SQLite file (or, before it exists, its folder) can be written: tried, not guessed
    from mode bits, which root ignores."""
    import tempfile

    try:
        if db.exists():
            with open(db, "r+b"):
                return True
        with tempfile.TemporaryFile(dir=db.parent):
            return True
    except OSError:
        return False


# Stores MLflow opens itself (databases, Databricks, a local folder); checked by MLflow.
_OTHER_SCHEMES = ("file:", "postgresql", "mysql", "mssql", "databricks")


def check_tracking_uri(uri: str, timeout_s: float) -> None:
    """Fail fast, before any model loads, if the tracking store cannot be reached or created."""
    if uri.startswith(("http://", "https://")):
        url = uri.rstrip("/") + "/health"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 - user's server
                if resp.status != 200:
                    raise TrackingError(f"logger.tracking_uri: {uri} answered HTTP {resp.status} on /health")
        except urllib.error.HTTPError as e:
            raise TrackingError(
                f"logger.tracking_uri: {uri} answered HTTP {e.code}; is it an MLflow server?"
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise TrackingError(
                f"logger.tracking_uri: MLflow server {uri} not reachable within {timeout_s:g}s ({reason}); "
                "start it (make ui / mlflow server) or use the local default"
            ) from None
    elif uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///") :])
        if not db.parent.is_dir():
            raise TrackingError(f"logger.tracking_uri: folder {db.parent} of the SQLite store does not exist")
        # MLflow retries a read-only store for ~100 s and prints pages; say it at once instead.
        if not _writable(db):
            raise TrackingError(
                f"logger.tracking_uri: {db if db.exists() else db.parent} is not writable; "
                "choose a writable folder, e.g. logger.tracking_uri=sqlite:///$HOME/mlflow.db"
            )
    elif "://" in uri and not uri.startswith(_OTHER_SCHEMES):
        raise TrackingError(
            f"logger.tracking_uri: '{uri}' is not a tracking URI; use http(s)://host:port, "
            "sqlite:///<absolute path>.db or file:///<folder>"
        )


def _clean_tags(tags: dict) -> dict[str, str]:
    """Tags with secret-looking values masked (overrides, errors and URLs end up in tags)."""
    return {k: redact_text(v) if isinstance(v, str) else v for k, v in tags.items()}


STORE_LOCK_TIMEOUT_S = 300  # a fresh store's migrations take seconds; a stuck holder fails loudly


def store_lock(uri: str):
    """A file lock beside a SQLite store, so two processes never create (migrate) it at once.

    MLflow creates a missing SQLite database on first use; two processes doing so at the same
    moment race in the schema migration and one dies (``alembic_version ... 0 found``).
    Other stores (a server) need no lock.
    """
    from contextlib import nullcontext

    if not uri.startswith("sqlite:///"):
        return nullcontext()
    from filelock import FileLock

    return FileLock(uri[len("sqlite:///") :] + ".lock", timeout=STORE_LOCK_TIMEOUT_S)


class NullTracker:
    """Tracker for ``logger=none``: same interface, records nothing."""

    run_id = None

    def start(self, run_name: str, params: dict, tags: dict) -> None:
        """Nothing to open."""

    def reopen(self, run_id: str, tags: dict) -> None:
        """Nothing to reopen."""

    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
        """Ignore metrics."""

    def log_artifact(self, path, artifact_path: str | None = None) -> None:
        """Ignore an artifact file."""

    def log_artifacts(self, folder, artifact_path: str | None = None) -> None:
        """Ignore an artifact folder."""

    def set_tags(self, tags: dict) -> None:
        """Ignore tags."""

    def log_text(self, text: str, artifact_file: str) -> None:
        """Ignore a text artifact."""

    def log_input(self, dataset, context: str) -> None:
        """Ignore a dataset input."""

    def get_run(self):
        """There is no run."""
        return None

    def end(self, status: str = "FINISHED", error: str | None = None) -> None:
        """Nothing to close."""


class MlflowTracker:
    """One MLflow run: opened by :meth:`start`, closed exactly once by :meth:`end`."""

    def __init__(
        self,
        tracking_uri: str,
        experiment_name: str,
        timeout_s: float = 5.0,
        heartbeat_interval_s: float = 60.0,
        heartbeat_timeout_s: float = 900.0,
    ):
        """Check the store, select (or create) the experiment and reap dead runs; no run is opened yet."""
        import mlflow

        check_tracking_uri(tracking_uri, timeout_s)
        self._mlflow = mlflow
        mlflow.set_tracking_uri(tracking_uri)
        try:
            with store_lock(tracking_uri):  # the first process to touch a fresh store migrates it
                self._select_experiment(tracking_uri, experiment_name)
        except TrackingError:
            raise
        except Exception as e:
            raise TrackingError(
                f"logger.tracking_uri: cannot use MLflow store {tracking_uri} ({type(e).__name__}: {str(e)[:200]})"
            ) from None
        self.run_id: str | None = None
        self._ended = False
        self._uri, self._beat_every = tracking_uri, heartbeat_interval_s
        self._heartbeat = None
        reap_quietly(tracking_uri, heartbeat_timeout_s, by=command_line())  # zombies of killed jobs

    def _select_experiment(self, tracking_uri: str, experiment_name: str) -> None:
        """Select the experiment, creating it (model-training kind, artifacts beside the store) if new."""
        mlflow = self._mlflow
        exp = mlflow.get_experiment_by_name(experiment_name)
        if exp is None:
            location = None
            if tracking_uri.startswith("sqlite:///"):
                # Keep artifacts beside the database, not wherever the process happens to run.
                location = (Path(tracking_uri[len("sqlite:///") :]).parent / "mlartifacts").resolve().as_uri()
            try:
                mlflow.create_experiment(
                    experiment_name, artifact_location=location, tags=experiment_tags(experiment_name)
                )
            except Exception:  # created meanwhile by a parallel job
                if mlflow.get_experiment_by_name(experiment_name) is None:
                    raise
        elif KIND_TAG not in exp.tags:  # made before sftlab tagged experiments, or by hand
            mlflow.MlflowClient().set_experiment_tag(exp.experiment_id, KIND_TAG, MODEL_TRAINING)
        mlflow.set_experiment(experiment_name)

    def start(self, run_name: str, params: dict[str, str], tags: dict[str, str]) -> str:
        """Open the run (nested under an active parent, if any) and log params and tags."""
        mlflow = self._mlflow
        run = mlflow.start_run(
            run_name=redact_text(run_name),
            nested=mlflow.active_run() is not None,
            tags=_clean_tags({**process_tags(), **tags}),
        )
        self.run_id = run.info.run_id
        self._heartbeat = Heartbeat(self._uri, self.run_id, self._beat_every)
        mlflow.log_params(redact_params(params))  # a key typed into the config is never stored
        return self.run_id

    def reopen(self, run_id: str, tags: dict[str, str]) -> str:
        """Continue an existing run (``resume=true``): RUNNING again, params untouched, ``tags`` set.

        Params are not logged again: MLflow params are immutable, and ``paths.*`` of this
        process differ from the first attempt's. A stale ``error`` tag of a FAILED attempt is
        removed, so the run does not end FINISHED with an error.
        """
        mlflow = self._mlflow
        run = mlflow.start_run(run_id=run_id, tags=_clean_tags({**process_tags(), **tags}))
        self.run_id = run.info.run_id
        self._heartbeat = Heartbeat(self._uri, self.run_id, self._beat_every)
        if "error" in run.data.tags:
            mlflow.MlflowClient().delete_tag(run_id, "error")
        return self.run_id

    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
        """Log numeric metrics at ``step`` (and beat: the process is alive)."""
        self._mlflow.log_metrics(metrics, step=step)
        if self._heartbeat is not None:
            self._heartbeat.beat()

    def log_artifact(self, path, artifact_path: str | None = None) -> None:
        """Upload one file."""
        self._mlflow.log_artifact(str(path), artifact_path=artifact_path)

    def log_artifacts(self, folder, artifact_path: str | None = None) -> None:
        """Upload a folder's contents."""
        self._mlflow.log_artifacts(str(folder), artifact_path=artifact_path)

    def set_tags(self, tags: dict) -> None:
        """Set tags on the run (secrets masked)."""
        self._mlflow.set_tags(_clean_tags(tags))

    def log_text(self, text: str, artifact_file: str) -> None:
        """Store ``text`` as an artifact file (secrets masked)."""
        self._mlflow.log_text(redact_text(text), artifact_file)

    def log_input(self, dataset, context: str) -> None:
        """Record an ``mlflow.data`` dataset as an input of the run (the UI's Datasets column)."""
        self._mlflow.log_input(dataset, context=context)

    def get_run(self):
        """The run as MLflow stores it now (metrics, params, tags), or None before :meth:`start`."""
        return self._mlflow.MlflowClient().get_run(self.run_id) if self.run_id else None

    def end(self, status: str = "FINISHED", error: str | None = None) -> None:
        """Close the run with ``status``; an ``error`` text becomes the ``error`` tag."""
        if self._ended or self.run_id is None:
            return
        self._ended = True
        if self._heartbeat is not None:
            self._heartbeat.stop()
        mlflow = self._mlflow
        try:
            if error:
                mlflow.set_tag("error", redact_text(error)[:5000])
        finally:
            mlflow.end_run(status=status)


@contextmanager
def closes_run(tracker):
    """Close ``tracker``'s run when the block ends: FINISHED, FAILED with the error, or KILLED on Ctrl-C.

    Every entry point (train, judge, eval) wraps its work in this, so no run is left RUNNING.
    """
    try:
        yield tracker
    except KeyboardInterrupt:
        tracker.end("KILLED", "interrupted by the user (Ctrl-C)")
        raise
    except BaseException as e:
        tracker.end("FAILED", f"{type(e).__name__}: {e}")
        raise
    tracker.end("FINISHED")


def make_tracker(logger_cfg):
    """The tracker for the ``logger`` config group."""
    from sftlab.config.runtime import is_main_process

    if logger_cfg.backend == "none" or not is_main_process():  # DDP: rank 0 alone logs
        return NullTracker()
    return MlflowTracker(
        logger_cfg.tracking_uri,
        logger_cfg.experiment_name,
        logger_cfg.connect_timeout_s,
        logger_cfg.get("heartbeat_interval_s", 60.0),
        logger_cfg.get("heartbeat_timeout_s", 900.0),
    )


def run_page_url(tracking_uri: str, run_id: str, local_ui: str = "http://127.0.0.1:5000") -> str | None:
    """The run's page in the MLflow UI, opened in the model-training view.

    MLflow 3.17 picks the GenAI or the model-training view from the sidebar switch (remembered
    by the browser), not from the experiment's kind tag; ``workflowType=machine_learning`` in
    the link selects the model-training view. A SQLite store is served by ``mlflow ui`` (``make
    ui``) at ``local_ui``.
    """
    try:
        experiment_id = mlflow_client(tracking_uri).get_run(run_id).info.experiment_id
    except Exception:
        return None
    root = tracking_uri.rstrip("/") if tracking_uri.startswith(("http://", "https://")) else local_ui
    return f"{root}/#/experiments/{experiment_id}/runs/{run_id}?workflowType=machine_learning"
