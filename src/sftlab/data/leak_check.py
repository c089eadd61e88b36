"""Leak check: do the questions of an evaluation suite appear in a training set?

A suite is any JSONL file with one question per line (field ``prompt``, ``question``,
``instruction``, ``text`` or ``turns``, or one named explicitly; a list of strings, e.g. the
``turns`` of a multi-turn prompt in :mod:`sftlab.generate.suites`, counts each turn). Every question is compared with every training record's
instruction and instruction + input, exactly (after normalizing case, accents, punctuation)
and approximately (Jaccard similarity of character 4-grams, see :mod:`sftlab.data.text_similarity`).

A training run calls :func:`enforce` with ``dataset.leak_check``: by default it refuses to train
on data that contains its evaluation questions.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sftlab.config.errors import ConfigError, DataError
from sftlab.data.text_similarity import NearDupIndex

log = logging.getLogger(__name__)

QUESTION_FIELDS = ("prompt", "question", "instruction", "text", "turns")  # turns: a suite series
ON_LEAK = ("fail", "drop", "warn")


@dataclass
class Leak:
    """One evaluation question found in the training data."""

    suite: str
    question: str
    kind: str  # exact | near
    similarity: float
    record_index: int
    record_instruction: str


@dataclass
class LeakReport:
    """All overlaps between the suites and the training records."""

    suites: list[str]
    questions: int
    records: int
    threshold: float
    leaks: list[Leak] = field(default_factory=list)

    @property
    def exact(self) -> int:
        """Number of exact overlaps."""
        return sum(1 for leak in self.leaks if leak.kind == "exact")

    @property
    def near(self) -> int:
        """Number of near-duplicate overlaps."""
        return sum(1 for leak in self.leaks if leak.kind == "near")

    def leaking_records(self) -> set[int]:
        """Indices of training records that contain an evaluation question."""
        return {leak.record_index for leak in self.leaks}

    def to_dict(self) -> dict:
        """JSON-ready form (for the run's ``data/leak_report.json`` artifact)."""
        return {
            "suites": self.suites,
            "questions": self.questions,
            "records": self.records,
            "threshold": self.threshold,
            "exact": self.exact,
            "near": self.near,
            "leaks": [asdict(leak) for leak in self.leaks],
        }


def _question_texts(row: dict, field_name: str | None, where: str) -> list[str]:
    names = [field_name] if field_name else [n for n in QUESTION_FIELDS if n in row]
    if not names or names[0] not in row:
        wanted = field_name or "/".join(QUESTION_FIELDS)
        raise DataError(f"{where}: no question field '{wanted}' (found: {sorted(row)}); set question_field")
    value = row[names[0]]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v if isinstance(v, str) else str(v.get("content", "")) for v in value]
    raise DataError(f"{where}: field '{names[0]}' is neither text nor a list of texts")


def load_questions(path: str, field_name: str | None = None) -> list[str]:
    """The question texts of a JSONL suite file, with errors naming the file and line."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"leak check suite not found: {p} (dataset.leak_check.suites)")
    questions: list[str] = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{p}:{n}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{p}:{n}: expected a JSON object per line")
        questions.extend(q for q in _question_texts(row, field_name, f"{p}:{n}") if q.strip())
    if not questions:
        raise DataError(f"{p}: no questions found")
    return questions


def find_leaks(suites: dict[str, list[str]], records: list[dict], threshold: float) -> LeakReport:
    """Every (question, record) overlap, exact or with similarity >= ``threshold``."""
    index = NearDupIndex(threshold)
    owner: list[int] = []  # index entry -> record index
    for i, rec in enumerate(records):
        index.add(rec["instruction"])
        owner.append(i)
        if rec.get("input", "").strip():
            index.add(f"{rec['instruction']}\n{rec['input']}")
            owner.append(i)
    report = LeakReport(list(suites), sum(len(q) for q in suites.values()), len(records), threshold)
    for suite, questions in suites.items():
        for question in questions:
            seen: set[int] = set()
            for kind, entry, sim in index.matches(question):
                rec_i = owner[entry]
                if rec_i in seen:  # a record's instruction and instruction+input can both match
                    continue
                seen.add(rec_i)
                report.leaks.append(
                    Leak(suite, question, kind, round(sim, 4), rec_i, records[rec_i]["instruction"])
                )
    return report


def check(records: list[dict], leak_cfg) -> LeakReport | None:
    """The leak report of ``records`` against ``leak_cfg.suites`` (None when no suite is set)."""
    if not leak_cfg.suites:
        return None
    if leak_cfg.on_leak not in ON_LEAK:
        raise ConfigError(
            f"dataset.leak_check.on_leak: '{leak_cfg.on_leak}' is not one of {', '.join(ON_LEAK)}"
        )
    if not 0.0 < leak_cfg.near_threshold <= 1.0:
        raise ConfigError(
            f"dataset.leak_check.near_threshold must be in (0, 1] (got {leak_cfg.near_threshold})"
        )
    suites = {str(s): load_questions(str(s), leak_cfg.question_field) for s in leak_cfg.suites}
    return find_leaks(suites, records, leak_cfg.near_threshold)


def enforce(report: LeakReport, records: list[dict], on_leak: str) -> list[dict]:
    """Apply the ``on_leak`` policy: raise (fail), remove the records (drop) or only warn."""
    if not report.leaks:
        return records
    first = report.leaks[0]
    summary = (
        f"{len(report.leaking_records())} training record(s) contain evaluation questions "
        f"({report.exact} exact, {report.near} near-duplicate match(es); e.g. {first.question[:60]!r} from {first.suite})"
    )
    if on_leak == "fail":
        raise DataError(
            f"dataset.leak_check: {summary}; remove them, or set dataset.leak_check.on_leak=drop "
            "(train without them) or =warn (train anyway)"
        )
    if on_leak == "drop":
        bad = report.leaking_records()
        log.warning("dataset.leak_check: dropping %s", summary)
        return [r for i, r in enumerate(records) if i not in bad]
    log.warning("dataset.leak_check: training anyway (on_leak=warn) although %s", summary)
    return records


def main(overrides: list[str]) -> int:
    """``sftlab data check-leaks``: report overlaps between suites and a training file; 1 if any leak."""
    from sftlab.config.compose import compose
    from sftlab.config.paths import asset_path
    from sftlab.data.records import normalize, read_local

    cfg = compose("data_check_leaks", overrides)
    suite_files = list(cfg.suites) or [
        asset_path("prompts/general_es.jsonl"),
        asset_path("prompts/law_ec.jsonl"),
    ]
    records = normalize(read_local(cfg.train), cfg.format, cfg.train)
    suites = {s: load_questions(s, cfg.question_field) for s in suite_files}
    report = find_leaks(suites, records, cfg.threshold)
    for leak in report.leaks:
        print(
            f"{leak.kind:5s} {leak.similarity:.2f}  {leak.suite}: {leak.question[:70]!r}  "
            f"~ record {leak.record_index}: {leak.record_instruction[:70]!r}"
        )
    print(
        f"{report.questions} question(s) vs {report.records} record(s): "
        f"{report.exact} exact, {report.near} near-duplicate overlap(s)"
    )
    if cfg.report:
        Path(cfg.report).write_text(
            json.dumps(report.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8"
        )
    return 1 if report.leaks else 0
