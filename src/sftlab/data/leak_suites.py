"""Evaluation suites as the leak check reads them: questions and, where given, reference answers.

A suite is a bundled prompt suite's name (``general_es``, ``law_ec``) or any JSONL file with
one question per line (field ``prompt``, ``question``, ``instruction``, ``text`` or ``turns``, or
one named explicitly; a list, e.g. the ``turns`` of a multi-turn prompt, counts each turn) and
optionally its reference answer (``reference``, ``answer``, ``output`` or ``response``; for
``turns`` a list of the same length, or one string for the last turn).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sftlab.config.errors import DataError

QUESTION_FIELDS = ("prompt", "question", "instruction", "text", "turns")  # turns: a suite series
REFERENCE_FIELDS = ("reference", "answer", "output", "response")
BUNDLED_SUITES = ("general_es", "law_ec")


@dataclass(frozen=True)
class SuiteItem:
    """One question of a suite and its reference answer, if the suite has one."""

    question: str
    reference: str | None = None


def suite_file(name_or_path: str) -> Path:
    """The file of a suite given by bundled name (``law_ec``) or by path."""
    from sftlab.config.paths import asset_path

    p = Path(name_or_path).expanduser()
    if not p.suffix and "/" not in name_or_path:
        bundled = Path(asset_path(f"prompts/{name_or_path}.jsonl"))
        if bundled.is_file():
            return bundled
        raise DataError(
            f"leak check suite '{name_or_path}' is neither a bundled suite ({', '.join(BUNDLED_SUITES)}) "
            "nor a file (dataset.leak_check.suites)"
        )
    if not p.is_file():
        raise DataError(f"leak check suite not found: {p} (dataset.leak_check.suites)")
    return p


def _texts(value, where: str, name: str) -> list[str | None]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v if isinstance(v, str) or v is None else str(v.get("content", "")) for v in value]
    raise DataError(f"{where}: field '{name}' is neither text nor a list of texts")


def _items(row: dict, field_name: str | None, where: str) -> list[SuiteItem]:
    names = [field_name] if field_name else [n for n in QUESTION_FIELDS if n in row]
    if not names or names[0] not in row:
        wanted = field_name or "/".join(QUESTION_FIELDS)
        raise DataError(f"{where}: no question field '{wanted}' (found: {sorted(row)}); set question_field")
    questions = _texts(row[names[0]], where, names[0])
    refs: list[str | None] = [None] * len(questions)
    ref_name = next((n for n in REFERENCE_FIELDS if n in row and n != names[0]), None)
    if ref_name and row[ref_name] is not None:
        given = _texts(row[ref_name], where, ref_name)
        refs = (
            given if len(given) == len(questions) else [None] * (len(questions) - 1) + (given[-1:] or [None])
        )
    return [
        SuiteItem(q, r if r and r.strip() else None)
        for q, r in zip(questions, refs, strict=True)
        if q and q.strip()
    ]


def load_suite(path: str, field_name: str | None = None) -> list[SuiteItem]:
    """The questions (and reference answers) of a suite, with errors naming the file and line."""
    p = suite_file(str(path))
    items: list[SuiteItem] = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{p}:{n}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{p}:{n}: expected a JSON object per line")
        items.extend(_items(row, field_name, f"{p}:{n}"))
    if not items:
        raise DataError(f"{p}: no questions found")
    return items


def load_questions(path: str, field_name: str | None = None) -> list[str]:
    """The question texts of a suite (see :func:`load_suite`)."""
    return [item.question for item in load_suite(path, field_name)]
