"""``resume=true``: continue a killed or failed job from its last checkpoint, in the same run.

Every training run records where its output folder is and which process ran it (tags
``sftlab.output_dir``, ``sftlab.host``, ``sftlab.pid``). With ``resume=true`` the job looks up
the newest training run of the experiment with the same config hash; if that run is not
FINISHED (RUNNING after a SIGKILL or a lost node, FAILED, KILLED) and its folder holds a
complete checkpoint, the job reopens that run (params are already logged and immutable),
trains on from the checkpoint in that folder, and closes the run FINISHED.

Nothing to resume: a single run stops with a one-line error naming ``resume`` (drop it to train
afresh); a sweep job (``-m ... resume=true``) starts a fresh run instead, so re-running a
killed sweep with ``resume=true`` skips FINISHED jobs, resumes the unfinished ones that have a
checkpoint and reruns the rest.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from sftlab.config.errors import ConfigError
from sftlab.config.runtime import in_multirun
from sftlab.track.liveness import HOST_TAG, PID_TAG, pid_alive, process_tags
from sftlab.track.tracker import newest_run_with_hash
from sftlab.train.checkpoints import checkpoint_root, checkpoint_step, last_checkpoint

log = logging.getLogger(__name__)

OUTPUT_DIR_TAG = "sftlab.output_dir"
RESUMED_TAG = "sftlab.resumed_from"


@dataclass(frozen=True)
class ResumePoint:
    """The unfinished run to reopen and the checkpoint to continue from."""

    run_id: str
    status: str
    output_dir: Path
    checkpoint: Path

    @property
    def step(self) -> int:
        """The optimizer step training continues after."""
        return checkpoint_step(self.checkpoint)


def run_tags(output_dir: str | Path) -> dict[str, str]:
    """Tags set when a training run opens, so a later ``resume=true`` can find and vet it."""
    return {OUTPUT_DIR_TAG: str(Path(output_dir).resolve()), **process_tags()}


def _still_running_here(run) -> int | None:
    """The pid of a RUNNING run's process if it is alive on this host (not this process)."""
    tags = run.data.tags
    if run.info.status != "RUNNING" or tags.get(HOST_TAG) != socket.gethostname():
        return None
    try:
        pid = int(tags.get(PID_TAG, ""))
    except ValueError:
        return None
    return pid if pid != os.getpid() and pid_alive(pid) else None


def _nothing_to_resume(message: str) -> None:
    """Single run: a one-line error. Sweep job: say so and let the job start a fresh run."""
    if in_multirun():
        log.warning("%s; starting a fresh run", message)
        return None
    raise ConfigError(f"{message}; drop resume=true to start a fresh run")


def _check_folder(run, folder: str, outputs_root: str | None) -> None:
    """The folder a run's tag names must be on this host and below the outputs root.

    The tag comes from a store other people may write to: without this check, any run with
    this config hash could point training (and its checkpoint loading) at any folder.
    """
    run_id = run.info.run_id
    host = run.data.tags.get(HOST_TAG)
    if host and host != socket.gethostname():
        raise ConfigError(
            f"resume=true: run {run_id} was trained on host {host}, not {socket.gethostname()}; "
            "its checkpoints are there: resume on that host"
        )
    root = Path(outputs_root or os.getcwd()).expanduser().resolve()
    path = Path(folder).expanduser().resolve()
    if not path.is_relative_to(root):
        raise ConfigError(
            f"resume=true: run {run_id} names the folder {path}, which is not below paths.outputs_root "
            f"({root}); set paths.outputs_root to the folder that holds your runs"
        )


def find_resume_point(cfg, resolved: dict) -> ResumePoint | None:
    """With ``resume=true``, the unfinished run of this config and its last checkpoint.

    Returns None when ``resume`` is off, or in a sweep when there is nothing to resume (the job
    then runs afresh). A single run with nothing to resume raises :class:`ConfigError`.
    """
    if not cfg.get("resume", False):
        return None
    if cfg.logger.backend == "none":
        raise ConfigError("resume=true needs logger=mlflow: the run to continue is looked up in MLflow")
    from sftlab.track.tracker import config_hash

    chash = config_hash(resolved)
    experiment = cfg.logger.experiment_name
    run = newest_run_with_hash(cfg.logger.tracking_uri, experiment, chash, "tags.`sftlab.stage` = 'train'")
    if run is None:
        return _nothing_to_resume(
            f"resume=true: experiment '{experiment}' has no run with config hash {chash} "
            "(resume needs the same overrides as the interrupted run)"
        )
    run_id, status = run.info.run_id, run.info.status
    if status == "FINISHED":
        return _nothing_to_resume(
            f"resume=true: the newest run of config {chash} ({run_id}) already FINISHED"
        )
    pid = _still_running_here(run)
    if pid is not None:
        raise ConfigError(
            f"resume=true: run {run_id} is still RUNNING in process {pid} on this host; "
            "stop it (or wait for it) before resuming"
        )
    folder = run.data.tags.get(OUTPUT_DIR_TAG) or run.data.params.get("paths.output_dir", "")
    if not folder:
        return _nothing_to_resume(f"resume=true: run {run_id} ({status}) does not record its output folder")
    _check_folder(run, folder, cfg.paths.get("outputs_root"))
    checkpoint = last_checkpoint(folder)
    if checkpoint is None:
        return _nothing_to_resume(
            f"resume=true: run {run_id} ({status}) has no complete checkpoint in {checkpoint_root(folder)} "
            "(training.save_checkpoints=true and training.save_steps make them)"
        )
    point = ResumePoint(run_id, status, Path(folder), checkpoint)
    log.warning("resume: continuing %s run %s from %s (step %d)", status, run_id, checkpoint, point.step)
    print(f"resume: continuing {status} run {run_id} from {checkpoint} (step {point.step})", flush=True)
    return point


def resumed_tags(point: ResumePoint) -> dict[str, str]:
    """Tags set on a reopened run: where it continued from, and this process (for the next resume)."""
    return {**run_tags(point.output_dir), RESUMED_TAG: f"{point.checkpoint.name} ({point.status})"}


def unfinished_hint(cfg, resolved: dict) -> str | None:
    """A plain (not ``resume=true``) single run whose config has an unfinished run with a checkpoint:
    the one line that says so and how to continue it instead; None otherwise."""
    if cfg.get("resume", False) or cfg.logger.backend == "none" or in_multirun():
        return None
    from sftlab.config.secrets import redact_text
    from sftlab.track.tracker import command_line, config_hash

    chash = config_hash(resolved)
    try:
        run = newest_run_with_hash(
            cfg.logger.tracking_uri, cfg.logger.experiment_name, chash, "tags.`sftlab.stage` = 'train'"
        )
    except Exception:  # only a hint: never stop a run for it
        return None
    if run is None or run.info.status == "FINISHED" or _still_running_here(run) is not None:
        return None
    folder = run.data.tags.get(OUTPUT_DIR_TAG, "")
    checkpoint = last_checkpoint(folder) if folder else None
    if checkpoint is None:
        return None
    return (
        f"note: run {run.info.run_id} of this config ended {run.info.status} with a checkpoint at step "
        f"{checkpoint_step(checkpoint)}; this run starts afresh. To continue that one instead: "
        f"{redact_text(command_line())} resume=true"
    )
