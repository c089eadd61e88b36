"""A sweep's parent MLflow run: job counts, the summary table, the report, and its final status."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from sftlab.sweep.objective import best_index
from sftlab.track.metric_names import EVAL_LOSS, FINAL_LOSS
from sftlab.track.sweep_info import STATE_DIR, SWEEP_FILE, read_sweep_info, write_json_atomic
from sftlab.track.tables import rows_to_csv, rows_to_markdown
from sftlab.track.tracker import mlflow_client

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = [
    "job",
    "run_name",
    "status",
    "run_id",
    "objective",
    "final_loss",
    "eval_loss",
    "config_hash",
    "note",
]


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
    client = mlflow_client(info["tracking_uri"])
    for key, value in numbers.items():
        client.set_tag(info["parent_run_id"], f"sweep.{key}", str(value))
    return numbers


def summary_rows(client, records: list[dict], objective: str = FINAL_LOSS) -> list[dict]:
    """One row per job: its outcome, run, objective value and losses (skipped jobs point at the
    earlier run)."""
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
            for column, metric in (
                ("objective", objective),
                ("final_loss", FINAL_LOSS),
                ("eval_loss", EVAL_LOSS),
            ):
                if metric in run.data.metrics:
                    row[column] = f"{run.data.metrics[metric]:.4f}"
        if rec["status"] == "SKIPPED":
            row["note"] = "already FINISHED; force=true reruns it"
        elif rec.get("error"):
            row["note"] = rec["error"].splitlines()[0][:200]
        rows.append(row)
    return rows


def finalize(sweep_dir: str | Path, completed: bool) -> dict[str, int] | None:
    """Close the parent run once: counts, summary table, report; FINISHED, FAILED or KILLED.

    ``completed`` is False when the sweep did not reach ``on_multirun_end`` (a failed job with
    the basic launcher, or an interrupt): the parent is FAILED if a job failed, else KILLED.
    """
    sweep_dir = Path(sweep_dir)
    info = read_sweep_info(sweep_dir)
    if not info or info.get("ended"):
        return None
    client = mlflow_client(info["tracking_uri"])
    parent = info["parent_run_id"]
    records = job_records(sweep_dir)
    numbers = update_parent_counts(sweep_dir)
    client.log_batch(
        parent,
        metrics=[_metric(f"sweep/{k}", v) for k, v in numbers.items()],
    )
    objective, direction = info.get("objective", FINAL_LOSS), info.get("direction", "minimize")
    rows = summary_rows(client, records, objective)
    best = best_index([float(r["objective"]) if r["objective"] != "" else None for r in rows], direction)
    client.set_tag(parent, "sweep.objective", f"{objective} ({direction})")
    if best is not None:
        rows[best]["note"] = (rows[best]["note"] + "; " if rows[best]["note"] else "") + f"best {objective}"
        client.set_tag(parent, "sweep.best_run_id", rows[best]["run_id"])
        client.log_batch(parent, metrics=[_metric("sweep/best_objective", float(rows[best]["objective"]))])
    client.log_text(parent, rows_to_markdown(rows, SUMMARY_COLUMNS), "summary/jobs.md")
    client.log_text(parent, rows_to_csv(rows, SUMMARY_COLUMNS), "summary/jobs.csv")
    optuna_best = sweep_dir / "optimization_results.yaml"  # written by the Optuna sweeper
    if optuna_best.is_file():
        client.log_artifact(parent, str(optuna_best), "summary")
    try:
        from sftlab.report.experiment import write_report

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
    write_json_atomic(sweep_dir / STATE_DIR / SWEEP_FILE, {**info, "ended": status})
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
