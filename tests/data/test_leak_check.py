"""The leak check: evaluation questions found in training data, and a run that refuses to train on them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sftlab.config.paths import asset_path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = asset_path("data/sample_es.jsonl")


def _train_split(compose):
    from sftlab.data.records import load_records, split_records

    cfg = compose()
    train, _ = split_records(load_records(cfg.dataset), cfg.dataset.eval_fraction, cfg.dataset.shuffle_seed)
    return train


def _suite(tmp_path, compose) -> tuple[Path, str, str]:
    """A suite (prompt-suite style JSONL) with one exact and one paraphrased training question."""
    train = _train_split(compose)
    counts = {}
    for r in train:
        counts[r["instruction"]] = counts.get(r["instruction"], 0) + 1
    unique = [r["instruction"] for r in train if not r["input"] and counts[r["instruction"]] == 1]
    exact, near = sorted(unique, key=len, reverse=True)[:2]  # long: one added word stays a near-duplicate
    paraphrase = near.rstrip("?.") + " ahora."
    rows = [
        {"id": "law-1", "category": "simple", "prompt": exact.upper()},  # case differs: still exact
        {"id": "law-2", "category": "complex", "prompt": paraphrase},
        {
            "id": "law-3",
            "category": "simple",
            "prompt": "¿Cuál es el plazo para reclamar una multa de tránsito en Quito?",
        },
    ]
    path = tmp_path / "law_prompts.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path, exact, near


def test_find_leaks_exact_and_near(tmp_path, compose):
    from sftlab.data.leak_check import find_leaks, load_questions

    path, exact, near = _suite(tmp_path, compose)
    train = _train_split(compose)
    report = find_leaks({str(path): load_questions(str(path))}, train, 0.85)
    assert report.questions == 3 and report.records == len(train)
    assert [(leak.kind, leak.record_instruction) for leak in report.leaks] == [
        ("exact", exact),
        ("near", near),
    ]
    assert report.leaks[1].similarity < 1.0
    # Raising the threshold past the paraphrase's similarity leaves only the exact match.
    strict = find_leaks({str(path): load_questions(str(path))}, train, 0.99)
    assert [leak.kind for leak in strict.leaks] == ["exact"]


def test_question_fields_and_turns(tmp_path):
    from sftlab.config.errors import DataError
    from sftlab.data.leak_check import find_leaks, load_questions

    path = tmp_path / "suite.jsonl"
    path.write_text(
        json.dumps({"turns": ["Hola", "¿Qué es el IVA?"]})
        + "\n"
        + json.dumps({"turns": ["¿Y el ICE?"]})
        + "\n",
        encoding="utf-8",
    )
    questions = load_questions(str(path), "turns")
    assert questions == ["Hola", "¿Qué es el IVA?", "¿Y el ICE?"]
    assert load_questions(str(path)) == questions  # a prompt suite's series, found without a field name
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"pregunta": "¿Qué es el IVA?"}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="no question field"):
        load_questions(str(other))
    recs = [{"instruction": "Explica", "input": "¿qué es el iva", "output": "Un impuesto."}]
    assert find_leaks({"s": ["Explica ¿Qué es el IVA?"]}, recs, 0.9).exact == 1  # instruction + input


def test_run_refuses_to_train_on_its_evaluation_questions(
    train_cli, runs_of, mlflow_client, tmp_path, compose
):
    path, exact, _ = _suite(tmp_path, compose)
    exp = "leak-check"
    proc = train_cli(f"logger.experiment_name={exp}", f"dataset.leak_check.suites=[{path}]")
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(
        "error: dataset.leak_check: 2 training record(s) contain evaluation questions (1 exact, 1 near-duplicate"
    ), proc.stderr[-2000:]
    assert "on_leak=drop" in errors[0] and "Loading tiny_llama" not in proc.stdout + proc.stderr
    (run,) = runs_of(exp)
    assert run.info.status == "FAILED" and "leak_check" in run.data.tags["error"]
    local = mlflow_client.download_artifacts(run.info.run_id, "data/leak_report.json", str(tmp_path))
    report = json.loads(Path(local).read_text(encoding="utf-8"))
    assert report["exact"] == 1 and report["near"] == 1 and report["leaks"][0]["record_instruction"] == exact


def test_on_leak_drop_and_warn(tmp_path, compose):
    from sftlab.data.mixing import prepare_records

    path, exact, near = _suite(tmp_path, compose)
    clean = prepare_records(compose().dataset, compose().model)
    cfg = compose(f"dataset.leak_check.suites=[{path}]", "dataset.leak_check.on_leak=drop")
    dropped = prepare_records(cfg.dataset, cfg.model)
    assert len(dropped.train) == len(clean.train) - 2
    assert not {exact, near} & {r["instruction"] for r in dropped.train}
    assert (
        dropped.stats["leak_records_dropped"] == 2
        and dropped.stats["train_hash"] != clean.stats["train_hash"]
    )
    warn = prepare_records(
        compose(f"dataset.leak_check.suites=[{path}]", "dataset.leak_check.on_leak=warn").dataset, cfg.model
    )
    assert warn.train == clean.train and warn.leak_report["exact"] == 1


def test_check_leaks_cli(tmp_path, compose):
    path, _, _ = _suite(tmp_path, compose)
    report = tmp_path / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "sftlab",
        "data",
        "check-leaks",
        f"suites=[{path}]",
        f"train={SAMPLE}",
        f"report={report}",
    ]
    leaky = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert leaky.returncode == 1, leaky.stderr[-2000:]
    assert (
        "3 question(s) vs 320 record(s): 1 exact, 1 near-duplicate, 0 contained, 0 reference-answer "
        "overlap(s) in 2 record(s)" in leaky.stdout
    )
    assert json.loads(report.read_text(encoding="utf-8"))["exact"] == 1
    clean_suite = tmp_path / "clean.jsonl"
    clean_suite.write_text(
        json.dumps({"question": "¿Qué es la devolución del IVA a turistas?"}) + "\n", encoding="utf-8"
    )
    clean = subprocess.run(
        [sys.executable, "-m", "sftlab", "data", "check-leaks", f"suites=[{clean_suite}]", f"train={SAMPLE}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert clean.returncode == 0 and "0 exact, 0 near-duplicate" in clean.stdout


def test_law_dataset_refuses_a_file_with_a_law_ec_question_by_default(train_cli, runs_of, tmp_path):
    """dataset=sri_tax_law checks against the bundled law_ec suite without being told to."""
    law = [
        json.loads(line) for line in Path(asset_path("prompts/law_ec.jsonl")).read_text("utf-8").splitlines()
    ]
    records = Path(asset_path("data/sri_tax_law_sample.jsonl")).read_text("utf-8").splitlines()
    leaked = [{"instruction": q["prompt"], "input": "", "output": q["reference"]} for q in (law[0], law[20])]
    path = tmp_path / "sri_reviewed.jsonl"
    rows = records + [json.dumps(r, ensure_ascii=False) for r in leaked]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    exp = "leak-check-law-default"
    proc = train_cli(f"logger.experiment_name={exp}", "dataset=sri_tax_law", f"dataset.sources.0.path={path}")
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: dataset.leak_check: "), proc.stderr[-2000:]
    assert "contain evaluation questions" in errors[0] and "from law_ec" in errors[0]
    assert "Loading tiny_llama" not in proc.stdout + proc.stderr
    (run,) = runs_of(exp)
    assert run.info.status == "FAILED" and "leak_check" in run.data.tags["error"]
