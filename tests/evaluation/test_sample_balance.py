"""The bundled synthetic Belebele sample cannot be scored without reading the passage.

Guessers that see only the answer position or the kind of question must stay at chance (0.25 for
4 options). 0.35 is about two standard errors above chance for 80 questions (sqrt(.25*.75/80) = 0.048).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "src/sftlab/assets/data"
CHANCE_BOUND = 0.35
SAMPLES = ["belebele_spa_sample.jsonl", "belebele_eng_sample.jsonl"]  # Spanish, English control


def _generator():
    spec = importlib.util.spec_from_file_location("make_belebele", DATA / "make_belebele.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _records(name):
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def _kind(record, questions) -> str:
    """The question kind, recognised from the question text (the generator's templates, name as a wildcard)."""
    for kind, (template, _) in questions.items():
        pattern = re.escape(template).replace(re.escape("{name}"), ".+")
        if re.fullmatch(pattern, record["question"]):
            return kind
    raise AssertionError(f"no question kind matches {record['question']!r}")


def _best(labels):
    # ties broken by the lowest position, so the guesser is deterministic
    counts = Counter(labels)
    return min(counts, key=lambda p: (-counts[p], p))


def _fit_by(records, key):
    groups = {}
    for r in records:
        groups.setdefault(key(r), []).append(r["correct_answer_num"])
    return {k: _best(v) for k, v in groups.items()}


def _accuracy(records, rule, key):
    return sum(rule.get(key(r), "1") == r["correct_answer_num"] for r in records) / len(records)


@pytest.fixture(params=SAMPLES)
def sample(request):
    gen = _generator()
    records = _records(request.param)
    questions = gen.LANGUAGES["eng_Latn" if "_eng_" in request.param else "spa_Latn"]["questions"]
    return records, lambda r: _kind(r, questions)


def test_sample_keeps_belebele_record_format(sample):
    from sftlab.data.eval_data import BELEBELE_FIELDS, read_eval_file

    records, _ = sample
    assert read_eval_file(str(DATA / Path(records[0]["link"]).parent.name) + ".jsonl", "belebele") == records
    assert len(records) == 80
    for r in records:
        assert set(r) == {*BELEBELE_FIELDS, "link", "question_number", "dialect", "ds"} | set(r)
        assert set(BELEBELE_FIELDS) <= set(r) and r["correct_answer_num"] in {"1", "2", "3", "4"}
        assert r["link"].startswith("https://sftlab.invalid/")  # synthetic, never a real Belebele link
    assert {r["dialect"] for r in records} == {
        "eng_Latn" if "/belebele_eng" in records[0]["link"] else "spa_Latn"
    }


def test_positions_are_balanced_overall_and_within_each_question_kind(sample):
    records, kind = sample
    assert Counter(r["correct_answer_num"] for r in records) == {p: 20 for p in "1234"}
    per_kind = Counter((kind(r), r["correct_answer_num"]) for r in records)
    assert len({kind(r) for r in records}) == 4
    assert set(per_kind.values()) == {5} and len(per_kind) == 16  # 4 kinds x 4 positions, 5 each


def test_position_only_guesser_stays_at_chance(sample):
    """Always answer the most common position, learned from the very data it is scored on."""
    records, _ = sample
    rule = _fit_by(records, lambda r: "all")
    assert _accuracy(records, rule, lambda r: "all") <= CHANCE_BOUND


def test_question_kind_guessers_stay_at_chance(sample):
    """Per kind of question, answer the position most common for that kind: fitted on half of the
    passages and scored on the other half (both ways), and, as an upper bound for any kind-only
    rule, fitted on all 80 and scored on the same 80. Also by kind and the question's number in its
    passage (held out only: 8 cells of 10 questions, where a rule fitted in-sample overfits)."""
    records, kind = sample
    halves = [records[:40], records[40:]]  # 20 passages each: a split by passage, not by question
    for key in (kind, lambda r: (kind(r), r["question_number"])):
        held_out = [_accuracy(test, _fit_by(train, key), key) for train, test in (halves, halves[::-1])]
        assert sum(held_out) / 2 <= CHANCE_BOUND, held_out
    assert _accuracy(records, _fit_by(records, kind), kind) == 0.25  # 5 per kind and position
