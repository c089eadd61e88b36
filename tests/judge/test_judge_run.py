"""End to end through the real commands: ``python train.py judge=openai_compatible`` against a
judge server on 127.0.0.1 records score tables in MLflow; the API key is nowhere in the store;
people grade the exported file and ``sftlab scores import`` updates the same run;
``sftlab judge`` grades a saved adapter."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from chat_server import JudgeServer

ROOT = Path(__file__).resolve().parents[2]
EXP = "judge-e2e"
KEY = f"sk-e2e-{uuid.uuid4().hex}"
# Markers tell the scripted judge server what to do with each question (see chat_server.py).
SUITE = [
    {"id": "s1", "category": "simple", "prompt": "[[ok:5]] ¿Cuál es la capital de Ecuador?"},
    {"id": "s2", "category": "simple", "prompt": "[[ok:3]] ¿Qué es el RUC?"},
    {
        "id": "c1",
        "category": "complex",
        "prompt": "[[badthen:2]] Explica el IVA.",
        "reference": "Un impuesto.",
    },
    {"id": "c2", "category": "complex", "prompt": "[[429then:4]] Explica el RIMPE."},
    {"id": "c3", "category": "complex", "prompt": "[[echo:3]] Explica la retención."},
    {"id": "x1", "category": "contextual", "turns": ["[[ok:4]] Hola, ¿me ayudas?", "[[never]] ¿Y luego?"]},
    {"id": "e1", "category": "edge", "prompt": "[[slow]] ¿Tardas?"},
]
ITEMS = 8  # the series counts one item per turn
# A secret typed into the config each way the issue-17 probe found it stored (the server's own
# KEY, echoed back in a judge reply, is the fourth): none may appear in any record.
TYPED_KEY = f"sk-typed-{uuid.uuid4().hex}"  # +judge.api_key=..., the + route Hydra suggests
KEY_AS_NAME = f"sk-asname-{uuid.uuid4().hex}"  # judge.api_key_env=<the key itself>
URL_PASSWORD = f"pw{uuid.uuid4().hex}"  # judge.base_url=http://user:<password>@host/v1


def _run(cmd: list[str], env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *cmd],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def judged(cache_dir, mlflow_uri, tmp_path_factory):
    """One training run of tiny LLaMA followed by the judge stage against the scripted server."""
    from mlflow.tracking import MlflowClient

    work = tmp_path_factory.mktemp("judge-e2e")
    suite = work / "prueba_es.jsonl"
    suite.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in SUITE), encoding="utf-8")
    with JudgeServer(KEY, slow_s=2.5) as server:
        proc = _run(
            [
                "train.py",
                f"logger.tracking_uri={mlflow_uri}",
                f"logger.experiment_name={EXP}",
                f"paths.cache_dir={cache_dir}",
                f"hydra.run.dir={work / 'run'}",
                "training.max_steps=4",
                "training.logging_steps=2",
                "lora.r=4",
                "lora.alpha=8",
                "judge=openai_compatible",
                f"judge.base_url={server.base_url}",
                "judge.model=juez-e2e",
                "judge.api_key_env=SFTLAB_E2E_JUDGE_KEY",
                f"judge.suites=[{suite}]",
                "judge.timeout_s=1",
                "judge.max_retries=1",
                "judge.concurrency=3",
                "generation.max_new_tokens=4",
                "generation.num_attempts=2",
            ],
            env={"SFTLAB_E2E_JUDGE_KEY": KEY},
        )
    assert proc.returncode == 0, proc.stderr[-4000:]
    # The key typed into the variable-name field, with a password in the URL: stops before training.
    bad = _run(
        [
            "train.py",
            f"logger.tracking_uri={mlflow_uri}",
            f"logger.experiment_name={EXP}-secrets",
            f"paths.cache_dir={cache_dir}",
            f"hydra.run.dir={work / 'bad'}",
            "judge=openai_compatible",
            f"judge.base_url=http://probe:{URL_PASSWORD}@127.0.0.1:9/v1",
            "judge.model=juez-e2e",
            f"judge.api_key_env={KEY_AS_NAME}",
            f"judge.suites=[{suite}]",
        ]
    )
    # The key typed as a config key (the + route Hydra's own advice suggests): refused before anything
    # starts, without echoing the value (issue 14: unknown keys are errors however they arrive).
    plus = _run(
        [
            "train.py",
            f"logger.tracking_uri={mlflow_uri}",
            f"logger.experiment_name={EXP}-plus",
            f"paths.cache_dir={cache_dir}",
            f"hydra.run.dir={work / 'plus'}",
            f"+judge.api_key={TYPED_KEY}",
        ]
    )
    client = MlflowClient(tracking_uri=mlflow_uri)
    exp = client.get_experiment_by_name(EXP)
    (run,) = client.search_runs([exp.experiment_id])
    return {
        "proc": proc,
        "bad": bad,
        "plus": plus,
        "run": run,
        "client": client,
        "work": work,
        "suite": suite,
        "server": server,
    }


def _table(client, run_id, dst) -> list[dict]:
    path = client.download_artifacts(run_id, "judge/attempts.json", str(dst))
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [dict(zip(data["columns"], row, strict=False)) for row in data["data"]]


def test_run_records_score_tables_and_metrics(judged, tmp_path):
    run, client, server = judged["run"], judged["client"], judged["server"]
    assert run.info.status == "FINISHED"
    m = run.data.metrics
    # best of 2 attempts per item; the never-parsable turn and the timed-out item are missing
    assert m["judge/prueba_es/simple"] == 4.0
    assert m["judge/prueba_es/complex"] == 3.0
    assert m["judge/prueba_es/contextual"] == 4.0
    assert "judge/prueba_es/edge" not in m and m["judge/prueba_es/missing_items"] == 2
    assert m["judge/prueba_es/mean"] == pytest.approx((5 + 3 + 2 + 4 + 3 + 4) / 6)
    assert server.markers["429then"] == 2 and server.markers["badthen"] == 2 and server.markers["slow"] == 2

    tags = run.data.tags
    assert tags["judge.kind"] == "openai_compatible" and tags["judge.rubric_version"] == "sftlab-es-v1"
    rows = _table(client, run.info.run_id, tmp_path)
    assert len(rows) == ITEMS * 2 and {r["attempt"] for r in rows} == {1, 2}
    assert all(
        r["rubric_version"] == "sftlab-es-v1" and r["rubric_hash"] == tags["judge.rubric_hash"] for r in rows
    )
    assert all(r["method"] == "contrastive" and r["seed"] in (1234, 1235) for r in rows)
    by_item = {(r["item"], r["attempt"]): r for r in rows}
    assert by_item[("s1", 1)]["score"] == 5 and by_item[("s1", 1)]["reason"] == "nota 5 para ok"
    turn2 = by_item[("x1/t2", 1)]
    assert turn2["score"] is None and "unparseable reply after 3 asks" in turn2["judge_error"]
    assert turn2["conversation"].startswith("Usuario: [[ok:4]] Hola")
    assert by_item[("e1", 2)]["score"] is None and by_item[("e1", 2)]["judge_error"].startswith("timeout")
    assert by_item[("c1", 1)]["reference"] == "Un impuesto."

    files = {a.path for a in client.list_artifacts(run.info.run_id, "judge")}
    assert {
        "judge/attempts.json",
        "judge/attempts.jsonl",
        "judge/scores.md",
        "judge/rubric.md",
        "judge/human_scores_template.csv",
        "judge/human_grading_scale.md",
    } <= files
    report = Path(client.download_artifacts(run.info.run_id, "judge/scores.md", str(tmp_path))).read_text()
    assert "| Model (judge) | Simple | Complex | Contextual | Edge | Mean | Missing |" in report
    assert "| tiny_llama + adapter (llm) | 4.00 | 3.00 | 4.00 | – | 3.50 | 2/8 |" in report
    assert "| Model (judge) |" in judged["proc"].stdout  # the report is printed too


def test_api_key_is_nowhere_in_the_store_or_outputs(judged, mlflow_uri):
    assert judged["server"].unauthorized == 0  # the key was really used...
    needle = KEY.encode()
    store = Path(mlflow_uri[len("sqlite:///") :]).parent  # SQLite file(s) + mlartifacts/
    searched = 0
    for folder in (store, judged["work"]):
        for path in folder.rglob("*"):
            if path.is_file():
                searched += 1
                assert needle not in path.read_bytes(), f"API key found in {path}"
    assert searched > 10
    proc = judged["proc"]
    assert KEY not in proc.stdout and KEY not in proc.stderr
    run = judged["run"]
    assert run.data.params["judge.api_key_env"] == "SFTLAB_E2E_JUDGE_KEY"  # the name, never the value
    assert all(KEY not in v for v in (*run.data.params.values(), *run.data.tags.values()))


def test_a_secret_typed_any_way_is_nowhere(judged, mlflow_uri):
    """Issue 17's four routes: store, artifacts, output folders, stdout/stderr and log files."""
    bad = judged["bad"]
    assert bad.returncode == 2, bad.stderr[-3000:]
    assert "judge.api_key_env must be the NAME of an environment variable" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    secrets = [TYPED_KEY, KEY_AS_NAME, URL_PASSWORD, KEY]
    store = Path(mlflow_uri[len("sqlite:///") :]).parent
    files = [p for folder in (store, judged["work"]) for p in folder.rglob("*") if p.is_file()]
    assert any(p.name == "overrides.yaml" for p in files) and any(p.suffix == ".log" for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"{secret[:8]}... found in {path}"
    plus = judged["plus"]
    assert plus.returncode == 2 and plus.stderr.startswith("error: unknown config key 'judge.api_key'")
    assert len(plus.stderr.strip().splitlines()) == 1 and not (judged["work"] / "plus").exists()
    assert judged["client"].get_experiment_by_name(f"{EXP}-plus") is None  # no run was opened
    for proc in (judged["proc"], bad, plus):
        for secret in secrets:
            assert secret not in proc.stdout and secret not in proc.stderr
    rows = _table(judged["client"], judged["run"].info.run_id, judged["work"] / "table")
    echoed = [r for r in rows if r["item"] == "c3"]
    assert echoed and all(r["score"] == 3 and "***" in r["reason"] for r in echoed)
    client = judged["client"]
    (failed,) = client.search_runs([client.get_experiment_by_name(f"{EXP}-secrets").experiment_id])
    assert failed.info.status == "FAILED" and "api_key_env" in failed.data.tags["error"]
    assert failed.data.params["judge.base_url"].startswith("http://***@127.0.0.1:9")


HUMAN = {"s1": 5, "s2": 2, "c1": 2, "c2": 4, "x1/t1": 4, "x1/t2": 3}  # attempt 1 only; e1, c3 left blank


def test_human_round_trip_updates_the_run(judged, mlflow_uri, tmp_path):
    run_id, client = judged["run"].info.run_id, judged["client"]
    template = Path(client.download_artifacts(run_id, "judge/human_scores_template.csv", str(tmp_path)))
    with template.open(encoding="utf-8", newline="") as f:
        lines = list(csv.DictReader(f))
    assert len(lines) == ITEMS * 2 and all(line["human_score"] == "" for line in lines)
    assert {"question", "answer", "conversation", "reference", "seed", "method"} <= set(lines[0])
    for line in lines:
        if line["attempt"] == "1" and line["item"] in HUMAN:
            line["human_score"], line["human_reason"] = str(HUMAN[line["item"]]), "revisado"
    filled = tmp_path / "filled.csv"
    with filled.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)

    bad = tmp_path / "bad.csv"
    bad.write_text(
        filled.read_text(encoding="utf-8").replace(",5,revisado", ",7,revisado", 1), encoding="utf-8"
    )
    proc = _run(
        [
            "-m",
            "sftlab",
            "scores",
            "import",
            f"file={bad}",
            f"run_id={run_id}",
            f"logger.tracking_uri={mlflow_uri}",
        ]
    )
    assert proc.returncode == 2 and proc.stderr.strip().startswith(f"error: {bad}:")
    assert "outside 1-5" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1

    proc = _run(
        [
            "-m",
            "sftlab",
            "scores",
            "import",
            f"file={filled}",
            f"run_id={run_id}",
            f"logger.tracking_uri={mlflow_uri}",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    m = run.data.metrics
    assert m["human/prueba_es/simple"] == 3.5 and m["human/prueba_es/complex"] == 3.0
    assert m["human/prueba_es/contextual"] == 3.5 and m["human/prueba_es/missing_items"] == 2
    # attempts graded by both: s1 (5,5) s2 (3,2) c1 (2,2) c2 (4,4) x1/t1 (4,4) -> 4 of 5 equal
    assert m["agreement/llm_vs_human/n"] == 5
    assert m["agreement/llm_vs_human/exact"] == pytest.approx(0.8)
    assert m["agreement/llm_vs_human/mean_abs_diff"] == pytest.approx(0.2)
    assert m["judge/prueba_es/simple"] == 4.0  # the LLM judge's numbers are untouched

    rows = _table(client, run_id, tmp_path / "after")
    assert len(rows) == ITEMS * 2  # replaced, not appended
    human = {(r["item"], r["attempt"]): r["human_score"] for r in rows}
    assert human[("s2", 1)] == 2 and human[("s2", 2)] is None and human[("e1", 1)] is None
    report = Path(client.download_artifacts(run_id, "judge/scores.md", str(tmp_path / "md"))).read_text()
    assert "| tiny_llama + adapter (human) | 3.50 | 3.00 | 3.50 | – |" in report
    assert "Agreement: llm vs human" in report and "| 5 | 0.80 | 0.20 |" in report


def test_judge_command_grades_a_saved_adapter(judged, cache_dir, mlflow_uri, tmp_path):
    adapter = judged["work"] / "run" / "adapter"
    proc = _run(
        [
            "-m",
            "sftlab",
            "judge",
            f"adapter={adapter}",
            "judge=human",
            f"judge.suites=[{judged['suite']}]",
            "judge.max_items_per_category=1",
            "generation=greedy",
            "generation.max_new_tokens=4",
            f"logger.tracking_uri={mlflow_uri}",
            "logger.experiment_name=judge-cmd",
            f"paths.cache_dir={cache_dir}",
            f"hydra.run.dir={tmp_path / 'judge'}",
        ]
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = judged["client"]
    (run,) = client.search_runs([client.get_experiment_by_name("judge-cmd").experiment_id])
    assert run.info.status == "FINISHED" and run.data.tags["adapter"] == str(adapter)
    assert run.data.tags["sftlab.stage"] == "judge" and run.data.tags["judge.kind"] == "human"
    assert not [k for k in run.data.metrics if k.startswith("judge/")]  # people have not graded yet
    template = tmp_path / "judge" / "judge" / "human_scores_template.csv"
    with template.open(encoding="utf-8", newline="") as f:
        lines = list(csv.DictReader(f))
    assert len(lines) == 5 * 3  # one item per category (the series has 2 turns) x 3 attempts
    assert {line["method"] for line in lines} == {"greedy"}


def test_adapter_must_exist_and_match_the_model(judged, tmp_path):
    """The adapter folder names its base: taken when model= is not given, an error when it differs."""
    from sftlab.config.errors import ConfigError
    from sftlab.track.adapter_source import model_overrides, resolve_adapter

    adapter = resolve_adapter(str(judged["work"] / "run" / "adapter"), None, tmp_path)
    assert adapter.base_model == "tiny_llama" and adapter.quantization == "nf4"
    assert model_overrides(adapter, "tiny_llama", "nf4", set()) == []
    assert model_overrides(adapter, "tiny_falcon", "none", set()) == ["model=tiny_llama", "quantization=nf4"]
    assert (
        model_overrides(adapter, "tiny_llama", "none", {"quantization"}) == []
    )  # unquantized base, on purpose
    with pytest.raises(
        ConfigError, match=r"^adapter: .* was trained on model=tiny_llama, not model=tiny_falcon"
    ):
        model_overrides(adapter, "tiny_falcon", "nf4", {"model"})
    with pytest.raises(ConfigError, match="no adapter_config.json"):
        resolve_adapter(str(tmp_path), None, tmp_path)
