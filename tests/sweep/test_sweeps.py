"""``python train.py -m``: MLflow parent/child runs, failure isolation, resume, launchers, report."""

from __future__ import annotations

import csv
import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GRID = ["model=tiny_llama,tiny_falcon", "lora.r=4,8"]
# A few steps on a few records: the sweep machinery is under test, not the training.
SHORT = [
    "training.max_steps=2",
    "training.logging_steps=1",
    "dataset.max_records=48",
    "logger.log_adapter=false",
]
# The failure and launcher tests check runs, parents and skips, not scores: no evaluation stage there
# (the shared tiny-study sweep below keeps it, and the report test checks its numbers).
NO_EVAL = "eval=none"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def sweep_cli(cache_dir, mlflow_uri):
    """Run ``python train.py -m`` in a subprocess; returns the CompletedProcess."""

    def _run(sweep_dir: Path, *overrides: str, tracking_uri: str | None = None, timeout: int = 900):
        return _sweep(
            cache_dir, mlflow_uri, sweep_dir, *overrides, tracking_uri=tracking_uri, timeout=timeout
        )

    return _run


def _sweep(cache_dir, mlflow_uri, sweep_dir: Path, *overrides: str, tracking_uri=None, timeout: int = 900):
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        "-m",
        f"logger.tracking_uri={tracking_uri or mlflow_uri}",
        f"paths.cache_dir={cache_dir}",
        f"hydra.sweep.dir={sweep_dir}",
        *overrides,
    ]
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=os.environ.copy()
    )


# The README's study command, short: one real multirun (3 architectures, evaluation on) shared by
# the tests that read a finished sweep (parent/children/summary, the report) and the one that
# resumes it, instead of a sweep each (each job pays for a model load and a training).
# 16 of the 80 bundled Belebele questions: the report test checks that its tables match MLflow,
# not the scores themselves.
STUDY = ["experiment=study_tiny", *SHORT, "eval.limit=16"]


@pytest.fixture(scope="module")
def study_sweep(cache_dir, mlflow_uri, tmp_path_factory):
    """``python train.py -m experiment=study_tiny`` (short) once: (experiment, sweep dir, stdout)."""
    exp = "sweep-study"
    sweep = tmp_path_factory.mktemp("study") / "sweep"
    proc = _sweep(cache_dir, mlflow_uri, sweep, *STUDY, f"logger.experiment_name={exp}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return exp, sweep, proc.stdout


def _split(runs):
    parents = [r for r in runs if r.data.tags.get("sftlab.stage") == "sweep"]
    children = [r for r in runs if r.data.tags.get("sftlab.stage") != "sweep"]
    return parents, children


def _parent_of(runs, sweep_dir: Path):
    (parent,) = [
        r
        for r in runs
        if r.data.tags.get("sftlab.sweep_dir") == str(sweep_dir.resolve())
        and r.data.tags.get("sftlab.stage") == "sweep"
    ]
    return parent


def _children_of(runs, parent):
    return [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]


def test_sweep_is_one_parent_with_a_child_per_job(study_sweep, runs_of, mlflow_client, tmp_path):
    exp, first, _ = study_sweep
    runs = runs_of(exp)
    parent = _parent_of(runs, first)
    children = _children_of(runs, parent)
    assert len(_split(runs)[0]) == 1 and len(children) == 3
    assert all(c.info.status == "FINISHED" for c in children)
    assert sorted(c.data.tags["model"] for c in children) == ["tiny_falcon", "tiny_llama", "tiny_mistral"]
    assert {c.data.params["lora.r"] for c in children} == {"16"}  # the study's LoRA, in every job
    assert parent.info.status == "FINISHED"
    tags = parent.data.tags
    assert (tags["sweep.jobs"], tags["sweep.finished"], tags["sweep.failed"], tags["sweep.skipped"]) == (
        "3",
        "3",
        "0",
        "0",
    )
    assert "experiment=study_tiny" in tags["sweep.overrides"] and tags["sweep.launcher"] == "BasicLauncher"
    assert parent.data.metrics["sweep/finished"] == 3
    summary = mlflow_client.download_artifacts(parent.info.run_id, "summary/jobs.csv", str(tmp_path))
    rows = list(csv.DictReader(open(summary)))
    losses = {c.info.run_id: c.data.metrics["train/final_loss"] for c in children}
    assert {r["run_id"]: float(r["final_loss"]) for r in rows} == pytest.approx(losses, abs=1e-4)
    # ranked by sweep.objective (default: the held-out eval_loss, minimised)
    held_out = {c.info.run_id: c.data.metrics["train/eval_loss"] for c in children}
    assert {r["run_id"]: float(r["objective"]) for r in rows} == pytest.approx(held_out, abs=1e-4)
    assert tags["sweep.objective"] == "train/eval_loss (minimize)"
    assert tags["sweep.best_run_id"] == min(held_out, key=held_out.get)
    assert "report" in {a.path for a in mlflow_client.list_artifacts(parent.info.run_id)}
    # Skips and reruns on a second sweep: test_a_failing_job_is_isolated_and_rerun_after_the_fix


def test_a_failing_job_is_isolated_and_rerun_after_the_fix(sweep_cli, runs_of, mlflow_client, tmp_path):
    """Failure isolation, then resuming: FINISHED jobs are skipped, FAILED and deleted ones rerun."""

    exp = "sweep-failure"
    sample = (ROOT / "src/sftlab/assets/data/sample_es.jsonl").read_text()
    paths = []
    for name in ("broken", "a"):  # the broken job first: the job after it must still run
        path = tmp_path / f"{name}.jsonl"
        path.write_text(sample if name != "broken" else '{"instruction": "sin cierre"\n')
        paths.append(str(path))
    overrides = [
        f"dataset.sources.0.path={','.join(paths)}",
        *SHORT,
        NO_EVAL,
        f"logger.experiment_name={exp}",
    ]
    proc = sweep_cli(tmp_path / "sweep1", *overrides)
    assert proc.returncode != 0  # Hydra reports the failed job...
    assert "2 ran (1 finished, 1 failed), 0 skipped" in proc.stdout
    runs = runs_of(exp)
    parent = _parent_of(runs, tmp_path / "sweep1")
    children = _children_of(runs, parent)
    by_status = {}
    for c in children:
        by_status.setdefault(c.info.status, []).append(c)
    assert len(by_status["FINISHED"]) == 1 and len(by_status["FAILED"]) == 1  # ...the other carried on
    (failed,) = by_status["FAILED"]
    assert failed.data.params["dataset.sources"].count("broken.jsonl") == 1
    assert "broken.jsonl" in failed.data.tags["error"] and "DataError" in failed.data.tags["error"]
    # The parent is closed even though Hydra skipped on_multirun_end, and it counts 1/1.
    assert parent.info.status == "FAILED"
    assert (parent.data.tags["sweep.finished"], parent.data.tags["sweep.failed"]) == ("1", "1")
    assert parent.data.tags["error"] == "1 of 2 jobs failed"

    # Fix the data and sweep again: the FINISHED job is skipped, the FAILED one reruns.
    Path(paths[0]).write_text(sample)
    proc = sweep_cli(tmp_path / "sweep2", *overrides)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 ran (1 finished, 0 failed), 1 skipped" in proc.stdout
    runs = runs_of(exp)
    (rerun,) = _children_of(runs, _parent_of(runs, tmp_path / "sweep2"))
    assert (
        rerun.info.status == "FINISHED" and rerun.data.tags["config_hash"] == failed.data.tags["config_hash"]
    )

    # Delete a finished child: only that job runs.
    (victim,) = by_status["FINISHED"]
    mlflow_client.delete_run(victim.info.run_id)
    proc = sweep_cli(tmp_path / "sweep3", *overrides)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 ran (1 finished, 0 failed), 1 skipped" in proc.stdout
    runs = runs_of(exp)
    (rerun,) = _children_of(runs, _parent_of(runs, tmp_path / "sweep3"))
    assert (
        rerun.info.status == "FINISHED" and rerun.data.tags["config_hash"] == victim.data.tags["config_hash"]
    )

    # The same sweep again: nothing trains, and it says so.
    proc = sweep_cli(tmp_path / "sweep4", *overrides)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "0 ran (0 finished, 0 failed), 2 skipped" in proc.stdout
    assert "nothing new to run" in proc.stdout
    runs = runs_of(exp)
    assert _children_of(runs, _parent_of(runs, tmp_path / "sweep4")) == []  # no new child
    parent4 = _parent_of(runs, tmp_path / "sweep4")
    assert parent4.data.tags["sweep.skipped"] == "2" and parent4.info.status == "FINISHED"


def test_unreachable_tracking_server_fails_the_sweep_fast(sweep_cli, tmp_path):
    uri = f"http://127.0.0.1:{_free_port()}"
    started = time.perf_counter()
    proc = sweep_cli(tmp_path / "sweep", "lora.r=4,8", *SHORT, tracking_uri=uri, timeout=120)
    elapsed = time.perf_counter() - started
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and uri in errors[0] and "not reachable" in errors[0], proc.stderr[-2000:]
    assert "Launching" not in proc.stdout + proc.stderr  # no job started, no model loaded
    assert elapsed < 60  # the imports dominate; the check itself waits at most connect_timeout_s


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_grid_with_parallel_launchers(sweep_cli, runs_of, launcher, tmp_path):
    exp = f"sweep-grid-{launcher}"
    extra = ["hydra.launcher.n_jobs=2"] if launcher == "joblib" else ["hydra.launcher.timeout_min=20"]
    proc = sweep_cli(
        tmp_path / "sweep",
        *GRID,
        *SHORT,
        f"logger.experiment_name={exp}",
        f"hydra/launcher={launcher}",
        *extra,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    parents, children = _split(runs_of(exp))
    assert len(parents) == 1 and len(children) == 4
    assert all(c.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for c in children)
    assert all(c.info.status == "FINISHED" for c in children)
    # Jobs ran in other processes than the sweep's; the parent still counts them all.
    assert len({c.data.tags["sftlab.job_num"] for c in children}) == 4
    assert parents[0].info.status == "FINISHED" and parents[0].data.tags["sweep.finished"] == "4"


def test_report_of_the_tiny_study_matches_mlflow(study_sweep, runs_of, mlflow_client, tmp_path):
    """The report of the tiny study grid: loss tables/curves from training; Belebele and judge
    tables from whatever metrics the runs carry (logged here as the evaluation/judge stages will)."""
    exp, sweep, _ = study_sweep
    runs = runs_of(exp)
    parent = _parent_of(runs, sweep)
    children = _children_of(runs, parent)
    assert sorted(c.data.tags["model"] for c in children) == ["tiny_falcon", "tiny_llama", "tiny_mistral"]
    # The sweep's own report: every job ran the evaluation stage, none ran the judge stage,
    # and the report says which metrics are missing.
    local = mlflow_client.download_artifacts(parent.info.run_id, "report/report.md", str(tmp_path / "auto"))
    text = Path(local).read_text()
    assert "judge: no run has" in text and "belebele: no run has" not in text

    # Belebele numbers are the evaluation stage's own; judge scores are logged here as the
    # judge stage would (it needs a judge server).
    scores = {}
    for i, child in enumerate(sorted(children, key=lambda c: c.data.tags["model"])):
        judge_values = {"judge/general/simple": 3.0 + i, "judge/law/complex": 2.5 + i}
        for key, value in judge_values.items():
            mlflow_client.log_metric(child.info.run_id, key, value)
        evaluated = {k: child.data.metrics[k] for k in ("belebele/acc", "belebele/base_acc")}
        scores[child.data.tags["model"]] = {**evaluated, **judge_values}

    out = tmp_path / "report"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sftlab",
            "report",
            f"logger.experiment_name={exp}",
            f"sweep={sweep}",
            f"logger.tracking_uri={mlflow_client.tracking_uri}",
            f"out={out}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    missing = [line for line in proc.stdout.splitlines() if line.lstrip().startswith("missing:")]
    # nothing of our own report is missing; the study comparison says why tiny runs have none
    assert [line for line in missing if "study comparison: no comparable run" not in line] == [], missing
    bb = {r["model"]: r for r in csv.DictReader(open(out / "belebele.csv"))}
    judge = {r["model"]: r for r in csv.DictReader(open(out / "judge.csv"))}
    runs_csv = {r["run_id"]: r for r in csv.DictReader(open(out / "runs.csv"))}
    for model, values in scores.items():
        assert float(bb[model]["belebele_lora"]) == pytest.approx(values["belebele/acc"], abs=1e-4)
        assert float(bb[model]["belebele_base"]) == pytest.approx(values["belebele/base_acc"], abs=1e-4)
        assert float(bb[model]["delta"]) == pytest.approx(
            values["belebele/acc"] - values["belebele/base_acc"], abs=1e-4
        )
        assert float(judge[model]["general/simple"]) == pytest.approx(values["judge/general/simple"])
        assert float(judge[model]["law/complex"]) == pytest.approx(values["judge/law/complex"])
    for child in children:
        assert float(runs_csv[child.info.run_id]["final_loss"]) == pytest.approx(
            child.data.metrics["train/final_loss"], abs=1e-4
        )
    for png in ("loss_curves.png", "belebele.png", "judge.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text()
    assert "| tiny_llama |" in md and "![belebele](belebele.png)" in md
    logged = {a.path for a in mlflow_client.list_artifacts(parent.info.run_id, "report")}
    assert {"report/belebele.png", "report/judge.csv", "report/loss_curves.png"} <= logged


@pytest.fixture
def mlflow_server(tmp_path):
    """A real ``mlflow server`` on 127.0.0.1: SQLite backend, its own artifact root."""
    import urllib.request

    port = _free_port()
    artifacts = tmp_path / "server-artifacts"
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(artifacts),
            "--workers",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            assert time.time() < deadline, "mlflow server did not start"
            time.sleep(0.5)
        yield url, artifacts
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.slow
def test_sweep_report_and_force_against_a_real_mlflow_server(sweep_cli, mlflow_server, tmp_path):
    from mlflow.tracking import MlflowClient

    url, artifact_root = mlflow_server
    exp = "team-server"
    sweep = tmp_path / "sweep"
    proc = sweep_cli(sweep, "lora.r=4,8", *SHORT, f"logger.experiment_name={exp}", tracking_uri=url)
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = MlflowClient(tracking_uri=url)
    runs = client.search_runs([client.get_experiment_by_name(exp).experiment_id])
    parent = _parent_of(runs, sweep)
    children = _children_of(runs, parent)
    assert len(children) == 2 and all(c.info.status == "FINISHED" for c in children)
    assert parent.info.status == "FINISHED" and parent.data.tags["sweep.finished"] == "2"

    out = tmp_path / "report"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sftlab",
            "report",
            f"logger.experiment_name={exp}",
            "sweep=latest",
            f"logger.tracking_uri={url}",
            f"out={out}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {r["run_id"]: r for r in csv.DictReader(open(out / "runs.csv"))}
    for child in children:
        assert float(rows[child.info.run_id]["final_loss"]) == pytest.approx(
            child.data.metrics["train/final_loss"], abs=1e-4
        )
    # Artifacts went through the server into its own artifact root.
    stored = {p.name for p in artifact_root.rglob("*") if p.is_file()}
    assert {"loss_curve.png", "config.yaml", "jobs.csv", "loss_curves.png", "report.md"} <= stored

    # force=true reruns configs that already have a FINISHED run.
    forced = tmp_path / "forced"
    proc = sweep_cli(
        forced, "lora.r=4,8", *SHORT, f"logger.experiment_name={exp}", "force=true", tracking_uri=url
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 ran (2 finished, 0 failed), 0 skipped" in proc.stdout
    runs = client.search_runs([client.get_experiment_by_name(exp).experiment_id])
    again = _children_of(runs, _parent_of(runs, forced))
    assert sorted(c.data.tags["config_hash"] for c in again) == sorted(
        c.data.tags["config_hash"] for c in children
    )


@pytest.mark.slow
def test_torchrun_ddp_on_two_cpu_processes(cache_dir, mlflow_uri, runs_of, tmp_path):
    """torchrun, 2 processes, gloo on CPU: one MLflow run (rank 0), batches split across ranks."""
    exp = "ddp-gloo"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        str(ROOT / "train.py"),
        f"logger.tracking_uri={mlflow_uri}",
        f"logger.experiment_name={exp}",
        f"paths.cache_dir={cache_dir}",
        f"hydra.run.dir={tmp_path / 'run'}",
        "training.max_steps=3",
        "training.logging_steps=1",
        "dataset.max_records=48",
        "lora.r=4",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = runs_of(exp)  # rank 1 logged nothing
    assert run.info.status == "FINISHED" and run.data.tags["ddp.world_size"] == "2"
    # 46 train records, batch 4 per rank (tiny preset): 23 records = 6 steps per rank and epoch, so 3
    # steps are half an epoch only if both ranks took a shard (one process alone: a quarter).
    assert run.data.metrics["data/train_records"] == 46
    assert run.data.metrics["train/epoch"] == pytest.approx(0.5)
    assert proc.stdout.count("MLflow run:") == 1 and "rank 0 saves the adapter" in proc.stdout
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").is_file()


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (["hydra/launcher=parallel"], ("n_jobs", 2)),
        (["hydra/launcher=submitit_local"], ("timeout_min", 60)),
        (["hydra/launcher=slurm"], ("gpus_per_node", 1)),
        pytest.param(
            ["hydra/sweeper=lora_search"],
            ("n_trials", 20),
            marks=pytest.mark.skipif(
                importlib.util.find_spec("hydra_plugins.hydra_optuna_sweeper") is None,
                reason="optional extra: pip install -e '.[optuna]'",
            ),
        ),
        (["experiment=study_3models"], ("params", {"model": "llama2_7b_chat,mistral_7b,falcon_7b"})),
        (["experiment=study_tiny"], ("params", {"model": "tiny_llama,tiny_mistral,tiny_falcon"})),
    ],
)
def test_launcher_sweeper_and_experiment_configs_compose(cache_dir, overrides, expected):
    from hydra import compose, initialize_config_dir

    from sftlab.config.registry import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "train", overrides=[f"paths.cache_dir={cache_dir}", *overrides], return_hydra_config=True
        )
    key, value = expected
    node = cfg.hydra.sweeper if key in ("n_trials", "params") else cfg.hydra.launcher
    assert node[key] == value
    assert "mlflow_sweep" in cfg.hydra.callbacks
    if overrides == ["experiment=study_3models"]:
        # what each job of the sweep composes: a 7B model, so the study's LoRA (the tiny preset,
        # conf/preset/, applies to the tiny models only)
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            job = compose(
                "train", overrides=[f"paths.cache_dir={cache_dir}", *overrides, "model=llama2_7b_chat"]
            )
        assert job.dataset.name == "alpaca_dolly_es" and job.lora.r == 256 and job.lora.dropout == 0.2
        assert cfg.logger.experiment_name == "study_3models"


@pytest.mark.slow
def test_optuna_sweeper_trials_are_children(sweep_cli, runs_of, mlflow_client, tmp_path):
    pytest.importorskip(
        "hydra_plugins.hydra_optuna_sweeper", reason="optional extra: pip install -e '.[optuna]'"
    )
    exp = "sweep-optuna"
    sweep = tmp_path / "sweep"
    proc = sweep_cli(
        sweep,
        "hydra/sweeper=lora_search",
        "hydra.sweeper.n_trials=2",
        *SHORT,
        f"logger.experiment_name={exp}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    parents, children = _split(runs_of(exp))
    assert len(parents) == 1 and len(children) == 2
    assert all(c.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for c in children)
    lrs = {c.data.params["training.learning_rate"] for c in children}
    assert len(lrs) == 2 and all(1e-5 <= float(lr) <= 1e-3 for lr in lrs)  # sampled from the search space
    logged = {a.path for a in mlflow_client.list_artifacts(parents[0].info.run_id, "summary")}
    assert "summary/optimization_results.yaml" in logged
