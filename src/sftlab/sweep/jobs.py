"""A sweep job's side of a sweep: attach to the parent run, skip a finished config, report back.

Runs in the job's own process (for every launcher). Resume: a job whose resolved config hash
(``track.tracker.config_hash``) already has a FINISHED run in the experiment is skipped,
unless ``force=true``; FAILED runs are rerun.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sftlab.config.runtime import hydra_cfg, in_multirun
from sftlab.config.secrets import redact_text
from sftlab.sweep.parent import update_parent_counts
from sftlab.track.metric_names import FINAL_LOSS
from sftlab.track.sweep_info import STATE_DIR, read_sweep_info, sweep_dir_of, write_json_atomic
from sftlab.track.tracker import mlflow_client

log = logging.getLogger(__name__)

# What the job running in this process decided before training: set by skip_if_done(),
# read by the callback's on_job_end() (callbacks run in the job's own process).
job_note: dict[str, Any] = {}


def child_tags() -> dict[str, str]:
    """Tags that attach this job's run to its sweep's parent run (empty outside a sweep)."""
    hc = hydra_cfg()
    if hc is None or not in_multirun():
        return {}
    info = read_sweep_info(sweep_dir_of(hc))
    if not info:
        return {}
    return {
        "mlflow.parentRunId": info["parent_run_id"],
        "sftlab.sweep_dir": info["sweep_dir"],
        "sftlab.job_num": str(hc.job.num),
    }


def find_finished_run(tracking_uri: str, experiment_name: str, chash: str):
    """The newest FINISHED, not deleted run of the experiment with config hash ``chash``, or None."""
    from sftlab.track.tracker import newest_run_with_hash

    return newest_run_with_hash(tracking_uri, experiment_name, chash, "attributes.status = 'FINISHED'")


def skip_if_done(cfg, resolved: dict):
    """In a sweep, return a RunResult for a config that already has a FINISHED run, else None.

    ``force=true`` always returns None (the job runs again). Single runs are never skipped.
    """
    job_note.clear()
    if cfg.logger.backend == "none" or not in_multirun() or cfg.get("force", False):
        return None
    from sftlab.track.naming import run_name
    from sftlab.track.tracker import config_hash
    from sftlab.train.result import RunResult

    chash = config_hash(resolved)
    done = find_finished_run(cfg.logger.tracking_uri, cfg.logger.experiment_name, chash)
    if done is None:
        return None
    name = run_name(cfg)
    message = (
        f"skipped: {name}: config {chash} already FINISHED as run {done.info.run_id} (force=true reruns it)"
    )
    log.warning(message)
    job_note.update(status="SKIPPED", run_id=done.info.run_id, config_hash=chash)
    output_dir = done.data.params.get("paths.output_dir", "")
    final_loss = done.data.metrics.get(FINAL_LOSS, float("nan"))
    return RunResult(
        final_loss=final_loss,
        run_id=done.info.run_id,
        adapter_dir=str(Path(output_dir) / "adapter") if output_dir else "",
        output_dir=output_dir,
        metrics=dict(done.data.metrics),
    )


def record_job(hydra_cfg, status: str, error: str | None = None, run_id: str | None = None) -> None:
    """Write this job's outcome to the sweep folder and refresh the parent's counts."""
    sweep_dir = sweep_dir_of(hydra_cfg)
    info = read_sweep_info(sweep_dir)
    if not info:
        return
    num = int(hydra_cfg.job.num)
    write_json_atomic(
        sweep_dir / STATE_DIR / "jobs" / f"{num}.json",
        {
            "job": num,
            "overrides": list(hydra_cfg.overrides.task),
            "run_name": hydra_cfg.job.override_dirname,
            "status": status,
            "run_id": run_id,
            "error": redact_text(error or "")[:2000] or None,
        },
    )
    try:
        if status == "SKIPPED" and run_id:
            # The report of this sweep reads the earlier run in place of a child.
            mlflow_client(info["tracking_uri"]).set_tag(info["parent_run_id"], f"sweep.reused.{num}", run_id)
        update_parent_counts(sweep_dir)
    except Exception as e:  # the counts are refreshed again when the sweep ends
        log.warning("could not update the sweep's parent run: %s", e)
