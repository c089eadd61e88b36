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
import logging
from pathlib import Path

from hydra.experimental.callback import Callback

from sftlab.config.runtime import hydra_cfg
from sftlab.config.secrets import redact_text
from sftlab.sweep import jobs
from sftlab.sweep.jobs import record_job
from sftlab.sweep.parent import finalize
from sftlab.track.liveness import Heartbeat, process_tags
from sftlab.track.naming import sweep_name, swept_keys
from sftlab.track.sweep_info import STATE_DIR, SWEEP_FILE, read_sweep_info, sweep_dir_of, write_json_atomic
from sftlab.track.tracker import mlflow_client

log = logging.getLogger(__name__)


class MlflowSweepCallback(Callback):
    """Hydra callback (conf/train.yaml ``hydra.callbacks``): parent run + per-job outcomes."""

    def __init__(self) -> None:
        """No state until a multirun starts."""
        self._sweep_dir: Path | None = None
        self._beat = None

    def on_multirun_start(self, config, **kwargs) -> None:
        """Open the parent run (not active in-process) and publish its id in the sweep folder."""
        if config.logger.backend == "none":
            return
        from sftlab.config.errors import TrackingError
        from sftlab.sweep.objective import metric_key
        from sftlab.track.metric_names import FINAL_LOSS
        from sftlab.track.tracker import MlflowTracker, git_commit

        hc = config.hydra
        sweep_dir = Path(hc.sweep.dir)
        if not sweep_dir.is_absolute():
            sweep_dir = Path(hc.runtime.cwd) / sweep_dir
        sweep_dir = sweep_dir.resolve()
        uri, name = config.logger.tracking_uri, config.logger.experiment_name
        try:
            lc = config.logger
            MlflowTracker(uri, name, lc.connect_timeout_s, lc.heartbeat_interval_s, lc.heartbeat_timeout_s)
        except TrackingError as err:
            import sys

            print(f"error: {err}", file=sys.stderr, flush=True)
            sys.exit(2)
        client = mlflow_client(uri)
        exp = client.get_experiment_by_name(name)
        overrides = [redact_text(o) for o in hc.overrides.task]  # never store a typed-in key
        launcher = str(hc.launcher.get("_target_", "")).rsplit(".", 1)[-1]
        sweeper = str(hc.sweeper.get("_target_", "")).rsplit(".", 1)[-1]
        key = sweep_key(overrides)
        reused = find_unfinished_parent(client, exp.experiment_id, key) if config.get("resume") else None
        if reused is not None:  # resume=true: the killed sweep's children stay under one parent
            run = reused
            reopen_parent(client, run.info.run_id, sweep_dir)
        else:
            run = client.create_run(
                exp.experiment_id,
                run_name=sweep_name(overrides, sweep_dir.name),
                tags={
                    "sftlab.stage": "sweep",
                    "sftlab.sweep_dir": str(sweep_dir),
                    "sweep.overrides": " ".join(overrides)[:5000],
                    "sweep.launcher": launcher,
                    "sweep.sweeper": sweeper,
                    "git_commit": git_commit(str(Path(__file__).resolve().parent)),
                    **process_tags(),  # reaped when this process dies without closing it
                    SWEEP_KEY_TAG: key,
                },
            )
        if reused is None:  # params are immutable: a reused parent keeps its first folder's
            client.log_param(run.info.run_id, "sweep.overrides", " ".join(overrides)[:6000])
            client.log_param(run.info.run_id, "sweep.dir", str(sweep_dir))
        write_json_atomic(
            sweep_dir / STATE_DIR / SWEEP_FILE,
            {
                "parent_run_id": run.info.run_id,
                "tracking_uri": uri,
                "experiment_name": name,
                "experiment_id": exp.experiment_id,
                "sweep_dir": str(sweep_dir),
                "swept": swept_keys(overrides),  # lead the jobs' run names
                # what the summary ranks by (sweep.objective / sweep.direction)
                "objective": metric_key(config.sweep.objective) if "sweep" in config else FINAL_LOSS,
                "direction": config.sweep.direction if "sweep" in config else "minimize",
            },
        )
        self._sweep_dir = sweep_dir
        # The parent stays fresh for `reap` on other hosts (SLURM jobs) while this process lives.
        self._beat = Heartbeat(uri, run.info.run_id, config.logger.heartbeat_interval_s)
        again = f" continued ({reused.info.status} before)" if reused is not None else ""
        print(
            f"sweep: parent MLflow run {run.info.run_id}{again} (experiment '{name}', {sweep_dir})",
            flush=True,
        )
        # Hydra skips on_multirun_end when a job failed (basic launcher) or on Ctrl-C.
        atexit.register(self._close_at_exit)

    def on_job_end(self, config, job_return, **kwargs) -> None:
        """Record this job's outcome (runs in the job's own process, for every launcher)."""
        from hydra.core.utils import JobStatus
        from hydra.types import RunMode

        if config.logger.backend == "none" or config.hydra.mode != RunMode.MULTIRUN:
            return
        hc = hydra_cfg()
        if hc is None:
            return
        note = dict(jobs.job_note)
        jobs.job_note.clear()
        if note.get("status") == "SKIPPED":
            record_job(hc, "SKIPPED", run_id=note.get("run_id"))
            return
        run_id = None
        info = read_sweep_info(sweep_dir_of(hc))
        if info:
            run_id = _this_jobs_run(info, str(hc.job.num))
        if job_return.status == JobStatus.COMPLETED:
            record_job(hc, "FINISHED", run_id=run_id)
        else:
            err = job_return._return_value
            record_job(hc, "FAILED", error=f"{type(err).__name__}: {err}", run_id=run_id)

    def on_multirun_end(self, config, **kwargs) -> None:
        """All jobs returned: close the parent."""
        if self._beat is not None:
            self._beat.stop()
        if self._sweep_dir is not None:
            finalize(self._sweep_dir, completed=True)
            self._sweep_dir = None

    def _close_at_exit(self) -> None:
        if self._beat is not None:
            self._beat.stop()
        if self._sweep_dir is None:
            return
        try:
            finalize(self._sweep_dir, completed=False)
        except Exception as e:
            log.error("could not close the sweep's parent run: %s", e)
        self._sweep_dir = None


SWEEP_KEY_TAG = "sweep.key"


def sweep_key(overrides: list[str]) -> str:
    """What identifies a sweep across reruns: its overrides, in any order, without resume/force."""
    import hashlib

    kept = sorted(o for o in overrides if o.split("=", 1)[0].lstrip("+~") not in ("resume", "force"))
    return hashlib.sha256("\n".join(kept).encode()).hexdigest()[:16]


def find_unfinished_parent(client, experiment_id: str, key: str):
    """The newest KILLED or FAILED parent run of the same sweep (a RUNNING one is alive: left alone)."""
    runs = client.search_runs(
        [experiment_id],
        filter_string=(
            f"tags.`{SWEEP_KEY_TAG}` = '{key}' and tags.`sftlab.stage` = 'sweep' "
            "and attributes.status != 'FINISHED' and attributes.status != 'RUNNING'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0] if runs else None


def reopen_parent(client, run_id: str, sweep_dir: Path) -> None:
    """RUNNING again, owned by this process, pointing at this attempt's folder, without the old error."""
    client.update_run(run_id, status="RUNNING")
    tags = client.get_run(run_id).data.tags
    for stale in ("error", "sftlab.reaped"):
        if stale in tags:
            client.delete_tag(run_id, stale)
    for k, v in {**process_tags(), "sftlab.sweep_dir": str(sweep_dir)}.items():
        client.set_tag(run_id, k, v)
    client.set_tag(
        run_id, "sweep.resumed_dirs", (tags.get("sweep.resumed_dirs", "") + f" {sweep_dir}").strip()
    )


def _this_jobs_run(info: dict, job_num: str) -> str | None:
    """The newest child run of this sweep written by job ``job_num``."""
    client = mlflow_client(info["tracking_uri"])
    runs = client.search_runs(
        [info["experiment_id"]],
        filter_string=(
            f"tags.mlflow.parentRunId = '{info['parent_run_id']}' and tags.`sftlab.job_num` = '{job_num}'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].info.run_id if runs else None
