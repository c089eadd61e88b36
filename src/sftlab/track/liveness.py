"""Runs whose process is gone: a heartbeat while a run is open, and reaping the dead to KILLED.

A run closed by sftlab ends FINISHED, FAILED or KILLED. A process that cannot close its run
(SIGKILL by the OOM killer, a preempted SLURM job, a closed laptop) leaves it RUNNING forever.
Every sftlab run therefore carries ``sftlab.host``, ``sftlab.pid`` and ``sftlab.heartbeat``
(unix seconds, refreshed at each logging step and by a background beat while the run is open),
and any command that opens the store calls :func:`reap`, which marks a RUNNING run KILLED when

* it was started on this host and its process is gone (or the pid now belongs to a younger
  process), or
* it was started on another host and its heartbeat is older than ``logger.heartbeat_timeout_s``
  (a sweep's parent counts as alive while one of its children beats).

Runs without these tags (made by hand, or by an older sftlab on another host) are left alone:
nothing says whether they are dead.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

HOST_TAG = "sftlab.host"
PID_TAG = "sftlab.pid"
HEARTBEAT_TAG = "sftlab.heartbeat"
REAPED_TAG = "sftlab.reaped"
PARENT_TAG = "mlflow.parentRunId"
# A pid is recycled only by a process started after ours; clocks of one host agree, so a few
# seconds cover the gap between the process starting and the run opening.
_PID_REUSE_SLACK_S = 5.0


def process_tags() -> dict[str, str]:
    """Tags that let a later command tell whether this process still owns its run."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid()), HEARTBEAT_TAG: f"{time.time():.0f}"}


def pid_alive(pid: int, started_s: float | None = None) -> bool:
    """True if ``pid`` runs on this host (and, given ``started_s``, began before that time)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    if started_s is None:
        return True
    try:
        import psutil

        return psutil.Process(pid).create_time() <= started_s + _PID_REUSE_SLACK_S
    except Exception:  # psutil missing or the process just ended: trust the kill(0) answer
        return True


@dataclass(frozen=True)
class Verdict:
    """Why a RUNNING run is taken for dead (``None`` from :func:`why_dead`: alive or unknown)."""

    run_id: str
    reason: str


def why_dead(run, now: float, timeout_s: float, child_beats: dict[str, float] | None = None) -> str | None:
    """The reason ``run`` (RUNNING) is dead, or None when it is alive or cannot be judged."""
    tags = run.data.tags
    host = tags.get(HOST_TAG)
    if not host:
        return None
    if host == socket.gethostname():
        try:
            pid = int(tags.get(PID_TAG, ""))
        except ValueError:
            return None
        if pid == os.getpid() or pid_alive(pid, run.info.start_time / 1000 if run.info.start_time else None):
            return None
        return f"process {pid} on {host} is gone (killed by a signal, out of memory, or the machine stopped)"
    try:
        beat = float(tags.get(HEARTBEAT_TAG, ""))
    except ValueError:
        return None  # an older sftlab on another host: no heartbeat to judge by
    beat = max(beat, (child_beats or {}).get(run.info.run_id, 0.0))
    if now - beat <= timeout_s:
        return None
    return f"no heartbeat from {host} for {now - beat:.0f}s (logger.heartbeat_timeout_s={timeout_s:g})"


def reap(client, timeout_s: float, experiment_ids: list[str] | None = None, by: str = "") -> list[Verdict]:
    """Mark every dead RUNNING run KILLED, with the reason as ``error`` and ``sftlab.reaped`` tags."""
    from mlflow.entities import ViewType

    if experiment_ids is None:
        experiment_ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    if not experiment_ids:
        return []
    running = client.search_runs(experiment_ids, "attributes.status = 'RUNNING'", max_results=10000)
    child_beats: dict[str, float] = {}
    for run in running:  # a sweep's parent lives as long as one of its children beats
        parent = run.data.tags.get(PARENT_TAG)
        try:
            beat = float(run.data.tags.get(HEARTBEAT_TAG, ""))
        except ValueError:
            continue
        if parent:
            child_beats[parent] = max(child_beats.get(parent, 0.0), beat)
    now = time.time()
    reaped = []
    for run in running:
        reason = why_dead(run, now, timeout_s, child_beats)
        if reason is None:
            continue
        run_id = run.info.run_id
        note = f"reaped{f' by `{by}`' if by else ''}: {reason}"
        client.set_tag(run_id, "error", note)
        client.set_tag(run_id, REAPED_TAG, f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {reason}")
        try:
            end_ms = int(float(run.data.tags.get(HEARTBEAT_TAG, "")) * 1000)
        except ValueError:
            end_ms = None
        client.set_terminated(run_id, "KILLED", end_time=end_ms)  # ended when it last beat
        reaped.append(Verdict(run_id, reason))
        log.warning("run %s (%s) was RUNNING but %s: marked KILLED", run_id, run.info.run_name, reason)
    return reaped


def reap_quietly(tracking_uri: str, timeout_s: float, by: str = "") -> list[Verdict]:
    """:func:`reap` on the whole store; a failure is logged, never raised (it must not stop a command)."""
    try:
        from mlflow.tracking import MlflowClient

        from sftlab.config.secrets import redact_text

        return reap(MlflowClient(tracking_uri=tracking_uri), timeout_s, by=redact_text(by))
    except Exception as e:
        log.warning("could not check the store for runs whose process is gone: %s", e)
        return []


class Heartbeat:
    """Refreshes ``sftlab.heartbeat`` of one run every ``interval_s`` from a daemon thread.

    Logging steps beat too (:meth:`beat`); the thread covers stages that log nothing for a
    long time (lm-eval, judging). It dies with the process, which is the point.
    """

    def __init__(self, tracking_uri: str, run_id: str, interval_s: float):
        """Start beating for ``run_id``."""
        from mlflow.tracking import MlflowClient

        self._client = MlflowClient(tracking_uri=tracking_uri)
        self._run_id, self._interval = run_id, interval_s
        self._last = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sftlab-heartbeat", daemon=True)
        self._thread.start()

    def beat(self, min_gap_s: float = 1.0) -> None:
        """Write the heartbeat now (at most once per ``min_gap_s``); a failed write is only logged."""
        now = time.time()
        with self._lock:
            if now - self._last < min_gap_s:
                return
            self._last = now
        try:
            self._client.set_tag(self._run_id, HEARTBEAT_TAG, f"{now:.0f}")
        except Exception as e:  # a busy store must not fail the training step
            log.debug("heartbeat not written: %s", e)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.beat()

    def stop(self) -> None:
        """Stop the thread (the run is closing)."""
        self._stop.set()
