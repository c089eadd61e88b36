"""Zombie runs (issue 17): a run whose process is gone is reaped to KILLED by the next command;
a resumed sweep reuses its parent run. In-process, on a fresh SQLite store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from sftlab.track.liveness import HEARTBEAT_TAG, HOST_TAG, PID_TAG, REAPED_TAG


@pytest.fixture
def store(mlflow_uri):
    from mlflow.tracking import MlflowClient

    return mlflow_uri, MlflowClient(tracking_uri=mlflow_uri)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _run(client, exp_id, name, **tags):
    return client.create_run(exp_id, run_name=name, tags={k.replace("__", "."): v for k, v in tags.items()})


def test_a_command_opening_the_store_reaps_dead_runs_only(store):
    from sftlab.track.tracker import MlflowTracker

    uri, client = store
    exp_id = client.create_experiment("reap-unit")
    here, now = socket.gethostname(), time.time()
    stale, fresh = f"{now - 3600:.0f}", f"{now - 10:.0f}"
    runs = {
        "dead_here": _run(client, exp_id, "a", **{HOST_TAG: here, PID_TAG: str(_dead_pid())}),
        "alive_here": _run(client, exp_id, "b", **{HOST_TAG: here, PID_TAG: str(os.getppid())}),
        "stale_there": _run(client, exp_id, "c", **{HOST_TAG: "node-7", PID_TAG: "1", HEARTBEAT_TAG: stale}),
        "fresh_there": _run(client, exp_id, "d", **{HOST_TAG: "node-7", PID_TAG: "1", HEARTBEAT_TAG: fresh}),
        "no_tags": _run(client, exp_id, "e"),
        "parent_there": _run(client, exp_id, "p", **{HOST_TAG: "node-1", PID_TAG: "1", HEARTBEAT_TAG: stale}),
    }
    parent_id = runs["parent_there"].info.run_id
    child = _run(client, exp_id, "child", **{HOST_TAG: "node-2", PID_TAG: "1", HEARTBEAT_TAG: fresh})
    client.set_tag(child.info.run_id, "mlflow.parentRunId", parent_id)

    MlflowTracker(uri, "reap-unit", heartbeat_timeout_s=900)  # what every command does first

    status = {k: client.get_run(r.info.run_id).info.status for k, r in runs.items()}
    assert status == {
        "dead_here": "KILLED",
        "alive_here": "RUNNING",
        "stale_there": "KILLED",
        "fresh_there": "RUNNING",
        "no_tags": "RUNNING",  # nothing says it is dead
        "parent_there": "RUNNING",  # its child still beats
    }
    dead = client.get_run(runs["dead_here"].info.run_id).data.tags
    assert "is gone" in dead["error"] and dead["error"].startswith("reaped by `") and REAPED_TAG in dead
    assert "no heartbeat from node-7" in client.get_run(runs["stale_there"].info.run_id).data.tags["error"]


def test_heartbeat_is_written_while_the_run_is_open(store):
    from sftlab.track.tracker import MlflowTracker

    uri, client = store
    tracker = MlflowTracker(uri, "beat-unit", heartbeat_interval_s=0.2)
    run_id = tracker.start("beat", {}, {})
    first = float(client.get_run(run_id).data.tags[HEARTBEAT_TAG])
    time.sleep(1.5)
    assert float(client.get_run(run_id).data.tags[HEARTBEAT_TAG]) > first  # the thread beats
    tags = client.get_run(run_id).data.tags
    assert tags[HOST_TAG] == socket.gethostname() and tags[PID_TAG] == str(os.getpid())
    tracker.end()
    assert client.get_run(run_id).info.status == "FINISHED"


def _sweep_config(tmp_path, uri, folder, *extra):
    return OmegaConf.create(
        {
            "logger": {
                "backend": "mlflow",
                "tracking_uri": uri,
                "experiment_name": "sweep-reuse",
                "connect_timeout_s": 5,
                "heartbeat_interval_s": 60,
                "heartbeat_timeout_s": 900,
            },
            "resume": "resume=true" in extra,
            "hydra": {
                "sweep": {"dir": str(tmp_path / folder)},
                "runtime": {"cwd": str(tmp_path)},
                "overrides": {"task": ["lora.r=4,8", *extra]},
                "launcher": {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"},
                "sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"},
            },
        }
    )


def test_a_resumed_sweep_reuses_its_killed_parent(store, tmp_path, monkeypatch):
    import atexit

    from sftlab.sweep.callback import MlflowSweepCallback

    monkeypatch.setattr(atexit, "register", lambda fn: None)  # parents are closed by hand here
    uri, client = store

    def start(folder, *extra) -> str:
        MlflowSweepCallback().on_multirun_start(_sweep_config(tmp_path, uri, folder, *extra))
        return __import__("json").loads((tmp_path / folder / ".sftlab" / "sweep.json").read_text())[
            "parent_run_id"
        ]

    first = start("a")
    client.set_terminated(first, "KILLED")  # as the reaper leaves a SIGKILLed sweep
    client.set_tag(first, "error", "reaped: process gone")
    again = start("b", "resume=true")
    assert again == first
    run = client.get_run(first)
    assert run.info.status == "RUNNING" and "error" not in run.data.tags
    assert run.data.tags["sftlab.sweep_dir"] == str((tmp_path / "b").resolve())
    client.set_terminated(first, "FINISHED")
    assert start("c", "resume=true") != first  # a FINISHED sweep is not reopened


_CREATE = """
import sys, time
from pathlib import Path
import mlflow.store.tracking.sqlalchemy_store
from sftlab.track.tracker import MlflowTracker
go = Path(sys.argv[2])
Path(sys.argv[2] + sys.argv[3]).touch()  # imported: ready
while not go.exists():  # both processes wait here, then create the store together
    time.sleep(0.01)
MlflowTracker(sys.argv[1], sys.argv[3])
print("ok")
"""


def test_two_processes_create_a_fresh_store_at_once(tmp_path):
    """Without the lock one of them dies in MLflow's schema migration (alembic_version ... 0 found)."""
    uri = f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}"
    (tmp_path / "fresh").mkdir()
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CREATE, uri, str(go), f"e{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    deadline = time.time() + 120
    while not all(Path(f"{go}e{n}").exists() for n in range(2)) and time.time() < deadline:
        time.sleep(0.05)
    go.touch()
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    assert all(out.strip() == "ok" for out, _ in outs)
