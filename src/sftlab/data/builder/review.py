"""Human review of generated pairs: export a CSV to edit, import the decisions back.

The CSV has one row per pair: ``decision`` (pre-filled ``keep``), the editable
``instruction`` / ``input`` / ``output``, and read-only ``id`` and provenance columns. A
reviewer sets ``decision`` to ``keep`` (take the pair as generated), ``fix`` (take the edited
text) or ``drop``. Import refuses a row it cannot trust: an unknown id, an unknown decision, a
``keep`` whose text was edited (set ``fix`` to take the edit), a ``fix`` with an empty
question or answer, and a pairs file with rows missing from the CSV. The reviewed JSONL keeps
the provenance and adds ``review`` (keep/fix); it is what ``dataset=sri_tax_law`` trains on.

Spreadsheets: the export is UTF-8 with a byte-order mark, so Excel shows accents right. The
import reads what a spreadsheet saves back: UTF-8 with or without a BOM, UTF-16 ("Unicode
text"), else Windows-1252; comma-, semicolon- (Excel in a Spanish locale) or tab-separated.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from pathlib import Path

from sftlab.config.errors import DataError
from sftlab.data.spreadsheet import neutralise_row, restore_row

DECISIONS = ("keep", "fix", "drop")
TEXT_FIELDS = ("instruction", "input", "output")
PROVENANCE = ("source_file", "page", "article", "chunk_hash", "prompt_version", "generator_model")
COLUMNS = ("decision", *TEXT_FIELDS, "id", *PROVENANCE)


def _read_pairs(path: str) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise DataError(f"pairs file not found: {p}")
    rows = [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    for n, row in enumerate(rows, 1):
        if "id" not in row:
            raise DataError(f"{p}:{n}: pair has no 'id'; export works on the builder's output")
    return rows


def export_csv(pairs_path: str, csv_path: str) -> int:
    """Write the review CSV for ``pairs_path``; returns the number of rows."""
    rows = _read_pairs(pairs_path)
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as f:  # the BOM: Excel reads UTF-8
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for row in rows:
            cells = {"decision": "keep", **{k: "" if row.get(k) is None else row.get(k) for k in COLUMNS[1:]}}
            w.writerow(neutralise_row(cells))  # model text must not become a live formula
    return len(rows)


def decode_csv(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a CSV saved by a spreadsheet: UTF-16 or UTF-8 (BOM or not), else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:  # the five bytes Windows-1252 leaves undefined
        return data.decode("latin-1"), "latin-1"


def sniff_delimiter(header: str) -> str:
    """The delimiter that splits ``header`` into the review columns: comma, semicolon or tab."""
    for delimiter in (",", ";", "\t"):
        names = {name.strip().lower() for name in next(csv.reader([header], delimiter=delimiter), [])}
        if {"decision", "id"} <= names:
            return delimiter
    return ","


def read_review_rows(path: Path) -> tuple[list[str], list[dict]]:
    """Column names and rows of a review CSV in any common encoding and delimiter."""
    text, _ = decode_csv(path.read_bytes())
    header = text.splitlines()[0] if text.strip() else ""
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(header))
    columns = [name.strip().lower() for name in reader.fieldnames or []]
    rows = [
        restore_row({name.strip().lower(): value for name, value in row.items() if name is not None})
        for row in reader
    ]
    return columns, rows


def import_csv(csv_path: str, pairs_path: str, out_path: str) -> Counter:
    """Apply the reviewed CSV to ``pairs_path`` and write ``out_path``; returns decision counts."""
    originals = {row["id"]: row for row in _read_pairs(pairs_path)}
    p = Path(csv_path)
    if not p.is_file():
        raise DataError(f"review CSV not found: {p}")
    columns, rows = read_review_rows(p)
    missing_cols = [c for c in ("decision", *TEXT_FIELDS, "id") if c not in columns]
    if missing_cols:
        raise DataError(
            f"{p}: missing column(s) {missing_cols} (found: {columns[:8]}); export a fresh CSV with: "
            "sftlab data review export"
        )
    out, counts, seen = [], Counter(), set()
    for n, row in enumerate(rows, 2):  # line 1 is the header
        where = f"{p}:{n}"
        pid = (row.get("id") or "").strip()
        if pid not in originals:
            raise DataError(f"{where}: id '{pid}' is not in {pairs_path}")
        if pid in seen:
            raise DataError(f"{where}: id '{pid}' appears twice")
        seen.add(pid)
        decision = (row.get("decision") or "").strip().lower()
        if decision not in DECISIONS:
            raise DataError(f"{where}: decision '{row.get('decision')}' is not one of {', '.join(DECISIONS)}")
        counts[decision] += 1
        orig = originals[pid]
        edited = {k: (row.get(k) or "").strip() for k in TEXT_FIELDS}
        changed = [k for k in TEXT_FIELDS if edited[k] != (orig.get(k) or "").strip()]
        if decision == "drop":
            continue
        if decision == "keep":
            if changed:
                raise DataError(
                    f"{where}: {changed} edited but decision is 'keep'; set it to 'fix' to take the edit, or undo it"
                )
            out.append({**orig, "review": "keep"})
        else:
            if not edited["instruction"] or not edited["output"]:
                raise DataError(f"{where}: 'fix' needs a non-empty instruction and output (or use 'drop')")
            out.append({**orig, **edited, "review": "fix"})
    unreviewed = [pid for pid in originals if pid not in seen]
    if unreviewed:
        raise DataError(
            f"{p}: {len(unreviewed)} pair(s) of {pairs_path} are not in the CSV (e.g. id {unreviewed[0]}); "
            "export again and review them"
        )
    tmp = Path(f"{out_path}.partial")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    os.replace(tmp, out_path)  # never leave a half-written reviewed file behind
    return counts


def main(overrides: list[str]) -> int:
    """``sftlab data review export|import``: write the review sheet, or read the decisions back."""
    from sftlab.config.compose import compose
    from sftlab.config.errors import ConfigError

    cfg = compose("data_review", overrides)
    if cfg.action == "export":
        n = export_csv(cfg.pairs, cfg.csv)
        print(
            f"{n} pair(s) -> {cfg.csv}; set decision to keep / fix / drop, then: "
            f"sftlab data review import csv={cfg.csv} pairs={cfg.pairs} output=<reviewed.jsonl>"
        )
        return 0
    if cfg.action != "import":
        raise ConfigError(
            f"action: '{cfg.action}' is not one of export, import (sftlab data review export ...)"
        )
    if not cfg.output:
        raise ConfigError(
            "output: import needs the reviewed JSONL to write, e.g. output=/data/sri/reviewed.jsonl"
        )
    c = import_csv(cfg.csv, cfg.pairs, cfg.output)
    print(
        f"kept {c['keep']}, fixed {c['fix']}, dropped {c['drop']} -> {cfg.output}\n"
        f"train on it: sftlab train dataset=sri_tax_law dataset.sources.0.path={Path(cfg.output).resolve()}"
    )
    return 0
