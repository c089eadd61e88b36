"""Local evaluation data: check a benchmark file before lm-eval reads it, and fingerprint it.

lm-eval fails deep inside a Jinja template (or silently scores garbage) when a record lacks a
field or holds an answer it cannot map to a choice. Checking the file first turns that into a
one-line DataError naming the file, the line and the field.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sftlab.config.errors import DataError

BELEBELE_FIELDS = (
    "flores_passage",
    "question",
    "mc_answer1",
    "mc_answer2",
    "mc_answer3",
    "mc_answer4",
    "correct_answer_num",
)
BELEBELE_ANSWERS = ("1", "2", "3", "4")
FORMATS = ("belebele",)


def _check_belebele(record: dict, where: str) -> None:
    missing = [f for f in BELEBELE_FIELDS if f not in record]
    if missing:
        raise DataError(
            f"{where}: Belebele record lacks field(s) {missing}; every record needs {list(BELEBELE_FIELDS)}"
        )
    for f in BELEBELE_FIELDS[:-1]:
        if not isinstance(record[f], str) or not record[f].strip():
            raise DataError(f"{where}: Belebele field '{f}' must be a non-empty string (got {record[f]!r})")
    answer = record["correct_answer_num"]
    if not isinstance(answer, str) or answer not in BELEBELE_ANSWERS:
        raise DataError(
            f'{where}: correct_answer_num is {answer!r}; it must be the string "1", "2", "3" or "4"'
        )


def read_eval_file(path: str, fmt: str | None) -> list[dict]:
    """Read a local JSONL evaluation file, checking every record against ``fmt`` (or not, if None)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(
            f"eval.data.path: file not found: {p} (point it at a JSONL file, or eval.data.source=hub)"
        )
    if fmt is not None and fmt not in FORMATS:
        raise DataError(
            f"eval.data.format: unknown record format '{fmt}'; choose one of {', '.join(FORMATS)} or null"
        )
    records = []
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (UnicodeDecodeError, OSError) as e:
        raise DataError(f"{p}: cannot be read as UTF-8 JSON Lines ({type(e).__name__})") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{p}:{n}: not valid JSON ({e.msg}); fix or remove that line") from None
        if not isinstance(record, dict):
            raise DataError(f"{p}:{n}: expected a JSON object per line")
        if fmt == "belebele":
            _check_belebele(record, f"{p}:{n}")
        records.append(record)
    if not records:
        raise DataError(f"{p}: no records (empty file)")
    return records


def file_sha256(path: str) -> str:
    """SHA-256 of a file's bytes: the data part of the base-score cache key."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
