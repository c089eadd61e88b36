"""People as judges: export the attempts to a file a person fills in, and read it back.

The exported file (CSV or JSONL) has one line per attempt with its key (``suite``, ``item``,
``attempt``), the question, the conversation so far, the reference and the answer, plus two
empty columns to fill: ``human_score`` (an integer 1-5, or empty when not graded) and
``human_reason``. Reading it back is strict: an unknown key, a duplicate line or a score that is
not an integer 1-5 is a one-line DataError naming the file and line.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from sftlab.config.errors import DataError
from sftlab.data.spreadsheet import neutralise_row, restore_row

KEY = ("suite", "item", "attempt")
EXPORT_COLUMNS = (
    "suite",
    "item",
    "attempt",
    "category",
    "method",
    "seed",
    "question",
    "conversation",
    "reference",
    "answer",
    "human_score",
    "human_reason",
)


def row_key(row: dict) -> tuple[str, str, int]:
    """The identity of an attempt: (suite, item, attempt)."""
    return (str(row["suite"]), str(row["item"]), int(row["attempt"]))


def export_for_people(rows: list[dict], path: Path, fmt: str = "csv") -> Path:
    """Write the template people fill in (written aside, then renamed: never half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    records = [
        {c: (row.get(c, "") if c not in ("human_score", "human_reason") else "") for c in EXPORT_COLUMNS}
        for row in rows
    ]
    if fmt == "csv":
        with tmp.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=EXPORT_COLUMNS)
            writer.writeheader()
            writer.writerows(neutralise_row(r) for r in records)  # answers must not run as formulas
    else:
        with tmp.open("w", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps({**rec, "human_score": None}, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


def _parse_score(value, where: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise DataError(f"{where}: human_score must be an integer 1-5 or empty (got {value!r})")
    if isinstance(value, int):
        score = value
    elif isinstance(value, str) and value.strip().isdigit():
        score = int(value.strip())
    else:
        raise DataError(f"{where}: human_score must be an integer 1-5 or empty (got {value!r})")
    if not 1 <= score <= 5:
        raise DataError(f"{where}: human_score {score} is outside 1-5")
    return score


def read_filled(path) -> dict[tuple[str, str, int], tuple[int | None, str]]:
    """``(suite, item, attempt) -> (score or None, reason)`` from a filled CSV or JSONL."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"human scores file not found: {p}")
    if p.suffix.lower() not in (".csv", ".jsonl"):
        raise DataError(f"{p}: use the exported .csv or .jsonl file")
    try:
        if p.suffix.lower() == ".csv":
            with p.open(encoding="utf-8-sig", newline="") as f:  # -sig: spreadsheets add a BOM
                lines = [(n, restore_row(rec)) for n, rec in enumerate(csv.DictReader(f), 2)]
        else:
            lines = []
            for n, text in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
                if text.strip():
                    try:
                        lines.append((n, json.loads(text)))
                    except json.JSONDecodeError as e:
                        raise DataError(f"{p}:{n}: not valid JSON ({e.msg})") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{p}: cannot be read ({type(e).__name__}: {e})") from None
    if not lines:
        raise DataError(f"{p}: no rows")
    missing = [c for c in (*KEY, "human_score") if c not in lines[0][1]]
    if missing:
        raise DataError(
            f"{p}: missing column(s) {missing}; fill in the exported file without renaming columns"
        )
    out: dict[tuple[str, str, int], tuple[int | None, str]] = {}
    for n, rec in lines:
        where = f"{p}:{n}"
        try:
            key = row_key(rec)
        except (TypeError, ValueError):
            raise DataError(
                f"{where}: suite/item/attempt are not valid (attempt must be an integer)"
            ) from None
        if key in out:
            raise DataError(f"{where}: duplicate line for {key}")
        reason = rec.get("human_reason") or ""
        out[key] = (_parse_score(rec.get("human_score"), where), str(reason).strip())
    return out


def merge_human(rows: list[dict], filled: dict, source: str) -> int:
    """Put the people's scores into ``rows`` (``human_score``/``human_reason``); returns how many graded.

    Every key of the file must be an attempt of the run; attempts absent from the file stay
    ungraded (missing), never zero.
    """
    known = {row_key(r) for r in rows}
    unknown = [k for k in filled if k not in known]
    if unknown:
        raise DataError(f"{source}: {len(unknown)} line(s) are not attempts of this run, e.g. {unknown[0]}")
    graded = 0
    for row in rows:
        score, reason = filled.get(row_key(row), (None, ""))
        row["human_score"], row["human_reason"] = score, reason
        graded += score is not None
    return graded
