"""Hydra multirun (``-m``) as MLflow runs: one parent run per sweep, one child run per job.

The parent is created by :class:`MlflowSweepCallback` in the process that runs the sweep and
its id is written to ``<sweep dir>/.sftlab/sweep.json``. Every job reads that file, wherever
it runs (in-process for the basic launcher, worker processes for joblib, separate processes or
SLURM nodes for submitit), and tags its run with ``mlflow.parentRunId``. Each job also leaves
``.sftlab/jobs/<num>.json`` with its outcome, so the parent's counts never depend on one
process: they are refreshed after every job, and the parent is closed by ``on_multirun_end``
or, when Hydra skips that hook (the basic launcher after a failed job), at interpreter exit.

Resume: a job whose resolved config hash (``tracking.config_hash``) already has a FINISHED
run in the experiment is skipped, unless ``force=true``; FAILED runs are rerun.
"""

from __future__ import annotations

import atexit
import csv
import io
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

log = logging.getLogger(__name__)

STATE_DIR = ".sftlab"
SWEEP_FILE = "sweep.json"
SUMMARY_COLUMNS = ["job", "run_name", "status", "run_id", "final_loss", "eval_loss", "config_hash", "note"]

# What the job running in this process decided before training: set by skip_if_done(),
# read by on_job_end() (callbacks run in the job's own process for every launcher).
_job_note: dict[str, Any] = {}


def _hydra_cfg():
    try:
        from hydra.core.hydra_config import HydraConfig

        return HydraConfig.get()
    except (ImportError, ValueError):
        return None


def _in_multirun() -> bool:
    from sftlab.cli import in_multirun

    return in_multirun()


def _sweep_dir_of(hydra_cfg) -> Path:
    """The sweep folder as an absolute path (jobs may run with another working directory)."""
    path = Path(hydra_cfg.sweep.dir)
    if not path.is_absolute():
        path = Path(hydra_cfg.runtime.cwd) / path
    return path.resolve()


def read_sweep_info(sweep_dir: str | Path) -> dict | None:
    """The sweep's ``sweep.json`` (parent run id, tracking URI, experiment), or None."""
    path = Path(sweep_dir) / STATE_DIR / SWEEP_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def _write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


# ---------------------------------------------------------------- in the job's process


def child_tags() -> dict[str, str]:
    """Tags that attach this job's run to its sweep's parent run (empty outside a sweep)."""
    hc = _hydra_cfg()
    if hc is None or not _in_multirun():
        return {}
    info = read_sweep_info(_sweep_dir_of(hc))
    if not info:
        return {}
    return {
        "mlflow.parentRunId": info["parent_run_id"],
        "sftlab.sweep_dir": info["sweep_dir"],
        "sftlab.job_num": str(hc.job.num),
    }


def find_finished_run(tracking_uri: str, experiment_name: str, chash: str):
    """The newest FINISHED, not deleted run of the experiment with config hash ``chash``, or None."""
    from sftlab.tracking import newest_run_with_hash

    return newest_run_with_hash(tracking_uri, experiment_name, chash, "attributes.status = 'FINISHED'")


def skip_if_done(cfg, resolved: dict):
    """In a sweep, return a RunResult for a config that already has a FINISHED run, else None.

    ``force=true`` always returns None (the job runs again). Single runs are never skipped.
    """
    _job_note.clear()
    if cfg.logger.backend == "none" or not _in_multirun() or cfg.get("force", False):
        return None
    from sftlab.pipeline import RunResult, run_name
    from sftlab.tracking import config_hash

    chash = config_hash(resolved)
    done = find_finished_run(cfg.logger.tracking_uri, cfg.logger.experiment_name, chash)
    if done is None:
        return None
    name = run_name(cfg)
    message = (
        f"skipped: {name}: config {chash} already FINISHED as run {done.info.run_id} (force=true reruns it)"
    )
    log.warning(message)
    _job_note.update(status="SKIPPED", run_id=done.info.run_id, config_hash=chash)
    output_dir = done.data.params.get("paths.output_dir", "")
    final_loss = done.data.metrics.get("final_loss", float("nan"))
    return RunResult(
        final_loss=final_loss,
        run_id=done.info.run_id,
        adapter_dir=str(Path(output_dir) / "adapter") if output_dir else "",
        output_dir=output_dir,
        metrics=dict(done.data.metrics),
    )


def record_job(hydra_cfg, status: str, error: str | None = None, run_id: str | None = None) -> None:
    """Write this job's outcome to the sweep folder and refresh the parent's counts."""
    sweep_dir = _sweep_dir_of(hydra_cfg)
    info = read_sweep_info(sweep_dir)
    if not info:
        return
    num = int(hydra_cfg.job.num)
    _write_json_atomic(
        sweep_dir / STATE_DIR / "jobs" / f"{num}.json",
        {
            "job": num,
            "overrides": list(hydra_cfg.overrides.task),
            "run_name": hydra_cfg.job.override_dirname,
            "status": status,
            "run_id": run_id,
            "error": (error or "")[:2000] or None,
        },
    )
    try:
        if status == "SKIPPED" and run_id:
            # The report of this sweep reads the earlier run in place of a child.
            _client(info["tracking_uri"]).set_tag(info["parent_run_id"], f"sweep.reused.{num}", run_id)
        update_parent_counts(sweep_dir)
    except Exception as e:  # the counts are refreshed again when the sweep ends
        log.warning("could not update the sweep's parent run: %s", e)


# ---------------------------------------------------------------- parent run bookkeeping


def job_records(sweep_dir: str | Path) -> list[dict]:
    """Every job outcome written so far, ordered by job number."""
    folder = Path(sweep_dir) / STATE_DIR / "jobs"
    records = [json.loads(p.read_text()) for p in folder.glob("*.json")] if folder.is_dir() else []
    return sorted(records, key=lambda r: r["job"])


def counts(records: list[dict]) -> dict[str, int]:
    """``{"jobs", "finished", "failed", "skipped"}`` from job records."""
    out = {"jobs": len(records), "finished": 0, "failed": 0, "skipped": 0}
    for rec in records:
        key = {"FINISHED": "finished", "FAILED": "failed", "SKIPPED": "skipped"}.get(rec["status"])
        if key:
            out[key] += 1
    return out


def update_parent_counts(sweep_dir: str | Path) -> dict[str, int]:
    """Set ``sweep.jobs/finished/failed/skipped`` tags on the parent from the job records."""
    info = read_sweep_info(sweep_dir)
    numbers = counts(job_records(sweep_dir))
    client = _client(info["tracking_uri"])
    for key, value in numbers.items():
        client.set_tag(info["parent_run_id"], f"sweep.{key}", str(value))
    return numbers


def summary_rows(client, records: list[dict]) -> list[dict]:
    """One row per job: its outcome, run and losses (skipped jobs point at the earlier run)."""
    rows = []
    for rec in records:
        row = {c: "" for c in SUMMARY_COLUMNS}
        row.update(job=rec["job"], run_name=rec["run_name"] or "(defaults)", status=rec["status"])
        run = None
        if rec.get("run_id"):
            try:
                run = client.get_run(rec["run_id"])
            except Exception:  # deleted meanwhile
                run = None
        if run is not None:
            row.update(run_id=run.info.run_id, config_hash=run.data.tags.get("config_hash", ""))
            for metric in ("final_loss", "eval_loss"):
                if metric in run.data.metrics:
                    row[metric] = f"{run.data.metrics[metric]:.4f}"
        if rec["status"] == "SKIPPED":
            row["note"] = "already FINISHED; force=true reruns it"
        elif rec.get("error"):
            row["note"] = rec["error"].splitlines()[0][:200]
        rows.append(row)
    return rows


def rows_to_markdown(rows: list[dict], columns: list[str]) -> str:
    """A GitHub-style markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [str(row.get(c, "")).replace("|", "\\|").replace("\n", " ") for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def rows_to_csv(rows: list[dict], columns: list[str]) -> str:
    """CSV text with a header row."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def finalize(sweep_dir: str | Path, completed: bool) -> dict[str, int] | None:
    """Close the parent run once: counts, summary table, report; FINISHED, FAILED or KILLED.

    ``completed`` is False when the sweep did not reach ``on_multirun_end`` (a failed job with
    the basic launcher, or an interrupt): the parent is FAILED if a job failed, else KILLED.
    """
    sweep_dir = Path(sweep_dir)
    info = read_sweep_info(sweep_dir)
    if not info or info.get("ended"):
        return None
    client = _client(info["tracking_uri"])
    parent = info["parent_run_id"]
    records = job_records(sweep_dir)
    numbers = update_parent_counts(sweep_dir)
    client.log_batch(
        parent,
        metrics=[_metric(f"sweep/{k}", v) for k, v in numbers.items()],
    )
    rows = summary_rows(client, records)
    client.log_text(parent, rows_to_markdown(rows, SUMMARY_COLUMNS), "summary/jobs.md")
    client.log_text(parent, rows_to_csv(rows, SUMMARY_COLUMNS), "summary/jobs.csv")
    best = sweep_dir / "optimization_results.yaml"  # written by the Optuna sweeper
    if best.is_file():
        client.log_artifact(parent, str(best), "summary")
    try:
        from sftlab.report import write_report

        write_report(
            info["tracking_uri"],
            info["experiment_name"],
            sweep_dir / "report",
            parent_run_id=parent,
            log_to_parent=True,
        )
    except Exception as e:  # the report is a convenience; the counts above are what matters
        log.warning("sweep report failed: %s: %s", type(e).__name__, e)
    if numbers["failed"]:
        status = "FAILED"
        client.set_tag(parent, "error", f"{numbers['failed']} of {numbers['jobs']} jobs failed")
    elif completed:
        status = "FINISHED"
    else:
        status = "KILLED"
        client.set_tag(parent, "error", "the sweep stopped before all jobs ended")
    client.set_terminated(parent, status)
    _write_json_atomic(sweep_dir / STATE_DIR / SWEEP_FILE, {**info, "ended": status})
    skipped = [r["run_name"] or "(defaults)" for r in records if r["status"] == "SKIPPED"]
    ran = numbers["finished"] + numbers["failed"]
    line = (
        f"sweep: {numbers['jobs']} jobs: {ran} ran ({numbers['finished']} finished, "
        f"{numbers['failed']} failed), {numbers['skipped']} skipped; parent run {parent} {status}"
    )
    if numbers["jobs"] and not ran:
        line += "; nothing new to run (force=true reruns)"
    print(line, flush=True)
    if skipped:
        print("skipped (already FINISHED): " + ", ".join(skipped), flush=True)
    return numbers


def _metric(key: str, value: float):
    from mlflow.entities import Metric

    return Metric(key, float(value), int(time.time() * 1000), 0)


class MlflowSweepCallback(Callback):
    """Hydra callback (conf/train.yaml ``hydra.callbacks``): parent run + per-job outcomes."""

    def __init__(self) -> None:
        """No state until a multirun starts."""
        self._sweep_dir: Path | None = None

    def on_multirun_start(self, config, **kwargs) -> None:
        """Open the parent run (not active in-process) and publish its id in the sweep folder."""
        if config.logger.backend == "none":
            return
        from sftlab.errors import TrackingError
        from sftlab.tracking import MlflowTracker, git_commit

        hc = config.hydra
        sweep_dir = Path(hc.sweep.dir)
        if not sweep_dir.is_absolute():
            sweep_dir = Path(hc.runtime.cwd) / sweep_dir
        sweep_dir = sweep_dir.resolve()
        uri, name = config.logger.tracking_uri, config.logger.experiment_name
        try:
            MlflowTracker(uri, name, config.logger.connect_timeout_s)  # fails fast if unreachable
        except TrackingError as err:
            import sys

            print(f"error: {err}", file=sys.stderr, flush=True)
            sys.exit(2)
        client = _client(uri)
        exp = client.get_experiment_by_name(name)
        overrides = list(hc.overrides.task)
        launcher = str(hc.launcher.get("_target_", "")).rsplit(".", 1)[-1]
        sweeper = str(hc.sweeper.get("_target_", "")).rsplit(".", 1)[-1]
        run = client.create_run(
            exp.experiment_id,
            run_name=f"sweep {sweep_dir.parent.name}/{sweep_dir.name}",
            tags={
                "sftlab.stage": "sweep",
                "sftlab.sweep_dir": str(sweep_dir),
                "sweep.overrides": " ".join(overrides)[:5000],
                "sweep.launcher": launcher,
                "sweep.sweeper": sweeper,
                "git_commit": git_commit(str(Path(__file__).resolve().parent)),
            },
        )
        client.log_param(run.info.run_id, "sweep.overrides", " ".join(overrides)[:6000])
        client.log_param(run.info.run_id, "sweep.dir", str(sweep_dir))
        _write_json_atomic(
            sweep_dir / STATE_DIR / SWEEP_FILE,
            {
                "parent_run_id": run.info.run_id,
                "tracking_uri": uri,
                "experiment_name": name,
                "experiment_id": exp.experiment_id,
                "sweep_dir": str(sweep_dir),
            },
        )
        self._sweep_dir = sweep_dir
        print(f"sweep: parent MLflow run {run.info.run_id} (experiment '{name}', {sweep_dir})", flush=True)
        # Hydra skips on_multirun_end when a job failed (basic launcher) or on Ctrl-C.
        atexit.register(self._close_at_exit)

    def on_job_end(self, config, job_return, **kwargs) -> None:
        """Record this job's outcome (runs in the job's own process, for every launcher)."""
        from hydra.core.utils import JobStatus
        from hydra.types import RunMode

        if config.logger.backend == "none" or config.hydra.mode != RunMode.MULTIRUN:
            return
        hc = _hydra_cfg()
        if hc is None:
            return
        note = dict(_job_note)
        _job_note.clear()
        if note.get("status") == "SKIPPED":
            record_job(hc, "SKIPPED", run_id=note.get("run_id"))
            return
        run_id = None
        info = read_sweep_info(_sweep_dir_of(hc))
        if info:
            run_id = _this_jobs_run(info, str(hc.job.num))
        if job_return.status == JobStatus.COMPLETED:
            record_job(hc, "FINISHED", run_id=run_id)
        else:
            err = job_return._return_value
            record_job(hc, "FAILED", error=f"{type(err).__name__}: {err}", run_id=run_id)

    def on_multirun_end(self, config, **kwargs) -> None:
        """All jobs returned: close the parent."""
        if self._sweep_dir is not None:
            finalize(self._sweep_dir, completed=True)
            self._sweep_dir = None

    def _close_at_exit(self) -> None:
        if self._sweep_dir is None:
            return
        try:
            finalize(self._sweep_dir, completed=False)
        except Exception as e:
            log.error("could not close the sweep's parent run: %s", e)
        self._sweep_dir = None


def _this_jobs_run(info: dict, job_num: str) -> str | None:
    """The newest child run of this sweep written by job ``job_num``."""
    client = _client(info["tracking_uri"])
    runs = client.search_runs(
        [info["experiment_id"]],
        filter_string=(
            f"tags.mlflow.parentRunId = '{info['parent_run_id']}' and tags.`sftlab.job_num` = '{job_num}'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].info.run_id if runs else None
