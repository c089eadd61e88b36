"""The review step: builder output -> CSV a person edits (keep/fix/drop) -> reviewed JSONL -> training data."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from chat_server import ChatServer
from omegaconf import OmegaConf

from sftlab.config.paths import asset_path

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-review-test-1234"


def _reply(user: str, nth: int) -> str:
    text = user.split('"""')[1].strip()
    first = " ".join(text.split()[:10])
    return json.dumps(
        [{"instruction": f"¿Qué dice «{first}»?", "input": "", "output": f"Dice: {text[:100]}"}],
        ensure_ascii=False,
    )


@pytest.fixture
def pairs(tmp_path, monkeypatch) -> Path:
    """A real builder output (in-process build against a 127.0.0.1 generator)."""
    from sftlab.config.build_schema import BuildConfig
    from sftlab.data.builder.build import build
    from sftlab.data.builder.generator import make_client

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    stub = ChatServer(KEY, _reply).start()
    try:
        cfg = OmegaConf.merge(
            OmegaConf.structured(BuildConfig),
            {
                "input_dir": asset_path("legal_docs"),
                "output": str(tmp_path / "pairs.jsonl"),
                "generator": {"model": "stub", "base_url": stub.base_url, "request_retries": 0},
                "chunking": {"max_chars": 600},
            },
        )
        stats = build(cfg, make_client(cfg.generator), progress=False)
    finally:
        stub.stop()
    assert stats.kept == 11
    return tmp_path / "pairs.jsonl"


def _edit(csv_path: Path, edits: dict[int, dict], encoding="utf-8-sig", delimiter=",") -> None:
    """Change cells, then save as a spreadsheet would: in ``encoding`` with ``delimiter``."""
    with open(csv_path, encoding="utf-8-sig", newline="") as f:  # the export starts with a BOM
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, list(reader)
    for i, change in edits.items():
        rows[i].update(change)
    with open(csv_path, "w", encoding=encoding, newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, delimiter=delimiter)
        w.writeheader()
        w.writerows(rows)


def test_review_round_trip_feeds_training_data(pairs, tmp_path, compose):
    from sftlab.data.builder.review import export_csv, import_csv
    from sftlab.data.records import load_records

    originals = [json.loads(line) for line in pairs.read_text(encoding="utf-8").splitlines()]
    review = tmp_path / "review.csv"
    assert export_csv(str(pairs), str(review)) == len(originals)
    assert review.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM: Excel opens the accents right
    with open(review, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["decision"] for r in rows] == ["keep"] * len(originals)
    assert rows[0]["source_file"] == originals[0]["source_file"] and rows[0]["id"] == originals[0]["id"]

    fixed_answer = "Respuesta corregida por una persona: el plazo es de cinco años."
    _edit(
        review,
        {0: {"decision": "drop"}, 1: {"decision": "fix", "output": fixed_answer}, 2: {"decision": "KEEP"}},
    )
    out = tmp_path / "reviewed.jsonl"
    counts = import_csv(str(review), str(pairs), str(out))
    assert counts == {"keep": len(originals) - 2, "fix": 1, "drop": 1}
    reviewed = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(reviewed) == len(originals) - 1
    assert originals[0]["id"] not in {r["id"] for r in reviewed}
    fixed = next(r for r in reviewed if r["id"] == originals[1]["id"])
    assert fixed["output"] == fixed_answer and fixed["review"] == "fix"
    assert fixed["chunk_hash"] == originals[1]["chunk_hash"] and fixed["prompt_version"] == "sri_qa_v1"
    kept = next(r for r in reviewed if r["id"] == originals[2]["id"])
    assert kept == {**originals[2], "review": "keep"}

    cfg = compose("dataset=sri_tax_law", f"dataset.sources.0.path={out}")
    records = load_records(cfg.dataset)
    assert len(records) == len(reviewed) and fixed_answer in {r["output"] for r in records}


@pytest.mark.parametrize(
    "encoding, delimiter",
    [("cp1252", ";"), ("utf-8", ";"), ("utf-8-sig", ","), ("utf-16", "\t")],
    ids=["windows-1252;", "utf-8;", "utf-8-bom,", "utf-16-tab"],
)
def test_review_csv_saved_by_a_spreadsheet_reads_back(pairs, tmp_path, compose, encoding, delimiter):
    """Excel in a Spanish locale saves Windows-1252 with semicolons; others UTF-8 or UTF-16 text."""
    from sftlab.data.builder.review import export_csv, import_csv
    from sftlab.data.records import load_records

    review = tmp_path / "review.csv"
    export_csv(str(pairs), str(review))
    fix = {"decision": "fix", "instruction": "¿Cuál es el año de la reforma?", "input": "Según el Código"}
    _edit(review, {0: fix}, encoding=encoding, delimiter=delimiter)
    out = tmp_path / "reviewed.jsonl"
    assert import_csv(str(review), str(pairs), str(out))["fix"] == 1
    fixed = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert fixed["instruction"] == fix["instruction"] and fixed["input"] == "Según el Código"
    records = load_records(compose("dataset=sri_tax_law", f"dataset.sources.0.path={out}").dataset)
    assert records[0]["input"] == "Según el Código"  # the qa format keeps input


@pytest.mark.parametrize(
    "edits, message",
    [
        ({0: {"output": "cambiada sin marcar"}}, "edited but decision is 'keep'"),
        ({1: {"decision": "maybe"}}, "decision 'maybe' is not one of keep, fix, drop"),
        ({2: {"decision": "fix", "output": ""}}, "'fix' needs a non-empty instruction and output"),
        ({3: {"id": "0000000000000000"}}, "id '0000000000000000' is not in"),
    ],
)
def test_review_import_refuses_untrustworthy_rows(pairs, tmp_path, edits, message):
    from sftlab.data.builder.review import export_csv

    review = tmp_path / "review.csv"
    export_csv(str(pairs), str(review))
    _edit(review, edits)
    out = tmp_path / "reviewed.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sftlab",
            "data",
            "review",
            "import",
            f"csv={review}",
            f"pairs={pairs}",
            f"output={out}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert not out.exists() and not Path(f"{out}.partial").exists()  # nothing half-written passed off


def test_rerun_is_free_and_settings_cannot_change_midway(pairs, tmp_path, monkeypatch):
    from sftlab.config.build_schema import BuildConfig
    from sftlab.config.errors import ConfigError
    from sftlab.data.builder.build import build
    from sftlab.data.builder.generator import make_client

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    stub = ChatServer(KEY, _reply).start()
    base = {
        "input_dir": asset_path("legal_docs"),
        "output": str(pairs),
        "generator": {"model": "stub", "base_url": stub.base_url, "request_retries": 0},
        "chunking": {"max_chars": 600},
    }
    try:
        cfg = OmegaConf.merge(OmegaConf.structured(BuildConfig), base)
        again = build(cfg, make_client(cfg.generator), progress=False)
        changed = OmegaConf.merge(cfg, {"prompt": {"pairs_per_chunk": 5}})
        with pytest.raises(ConfigError, match="built with pairs_per_chunk=3, not 5"):
            build(changed, make_client(changed.generator), progress=False)
    finally:
        stub.stop()
    assert again.requests == 0 and again.chunks_done_before == 11 and sum(stub.received.values()) == 0
