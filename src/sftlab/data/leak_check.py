"""Leak check: do the questions (or reference answers) of an evaluation suite appear in training data?

A suite is a bundled prompt suite's name (``general_es``, ``law_ec``) or a JSONL file of
questions and, optionally, reference answers (:mod:`sftlab.data.leak_suites`).

Every question is looked for in every text field of every training record, four ways:

* ``exact``     the record's instruction, input, instruction + input or output equals the
                question once case, accents and punctuation are ignored;
* ``contained`` the question (3 words or more) appears word for word inside a field, e.g.
                ``"Responde brevemente: " + question``, or a generic instruction with the
                question in ``input``;
* ``near``      a field, or one or two consecutive sentences of the instruction or input, is a
                light paraphrase: TF-IDF cosine of stemmed word 1-2-grams (see
                :mod:`sftlab.data.text_similarity`) >= ``threshold``, with the same numbers,
                named taxes, acronyms and names on both sides;
* ``answer``    the suite's reference answer is in a record's output: contained in it (6 words
                or more), or cosine >= ``answer_threshold`` with its numbers and names.

A training run calls :func:`check` and :func:`enforce` with ``dataset.leak_check``: by default
every bundled suite (and the run's judge suites) is checked, whatever the dataset is called,
and the run refuses to train on data that contains its evaluation questions.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sftlab.config.errors import ConfigError, DataError
from sftlab.data.leak_suites import (  # noqa: F401  (load_questions: part of this module's interface)
    BUNDLED_SUITES,
    SuiteItem,
    load_questions,
    load_suite,
    suite_file,
)
from sftlab.data.text_similarity import TfidfSpace, keeps_key_terms, normalize_text, same_key_terms

log = logging.getLogger(__name__)

ON_LEAK = ("fail", "drop", "warn")
KINDS = ("exact", "contained", "near", "answer")
MIN_CONTAINED_WORDS = 3  # "Hola" inside a record is no leak; "qué es el RIMPE" is
MIN_CONTAINED_ANSWER_WORDS = 6  # "Un impuesto." inside an output is no leak; a reference's sentence is
_SENTENCE = re.compile(r"[^.?!:;\n]+[.?!:;]*")
_BATCH = 20_000  # candidate texts scored at once (bounds the memory of the similarity matrix)


@dataclass
class Leak:
    """One evaluation question (or its reference answer) found in a training record."""

    suite: str
    question: str
    kind: str  # exact | contained | near | answer
    similarity: float
    record_index: int
    record_instruction: str
    field: str = ""  # the record's field it was found in: instruction, input, instruction+input, output


@dataclass
class LeakReport:
    """All overlaps between the suites and the training records."""

    suites: list[str]
    questions: int
    records: int
    threshold: float
    answer_threshold: float = 0.8
    leaks: list[Leak] = field(default_factory=list)

    def count(self, kind: str) -> int:
        """Number of overlaps of one kind."""
        return sum(1 for leak in self.leaks if leak.kind == kind)

    @property
    def exact(self) -> int:
        """Number of exact overlaps."""
        return self.count("exact")

    @property
    def near(self) -> int:
        """Number of near-duplicate (paraphrase) overlaps."""
        return self.count("near")

    @property
    def contained(self) -> int:
        """Number of questions found inside a longer text."""
        return self.count("contained")

    @property
    def answer(self) -> int:
        """Number of reference answers found in outputs."""
        return self.count("answer")

    def summary(self) -> str:
        """``1 exact, 2 near-duplicate, 0 contained, 0 reference-answer``."""
        return (
            f"{self.exact} exact, {self.near} near-duplicate, {self.contained} contained, "
            f"{self.answer} reference-answer"
        )

    def leaking_records(self) -> set[int]:
        """Indices of training records that contain an evaluation question or answer."""
        return {leak.record_index for leak in self.leaks}

    def to_dict(self) -> dict:
        """JSON-ready form (for the run's ``data/leak_report.json`` artifact)."""
        return {
            "suites": self.suites,
            "questions": self.questions,
            "records": self.records,
            "threshold": self.threshold,
            "answer_threshold": self.answer_threshold,
            **{kind: self.count(kind) for kind in KINDS},
            "leaks": [asdict(leak) for leak in self.leaks],
        }


def _windows(text: str) -> list[str]:
    """Single sentences and pairs of consecutive sentences of a multi-sentence text."""
    sents = [m.group(0).strip() for m in _SENTENCE.finditer(text) if m.group(0).strip()]
    if len(sents) < 2:
        return []
    return sents + [f"{a} {b}" for a, b in zip(sents, sents[1:], strict=False)]


def _windows_of(records: list[dict]) -> list[tuple[int, str, str]]:
    """(record index, field, text): single and paired sentences of each instruction and input."""
    return [
        (i, name, w)
        for i, rec in enumerate(records)
        for name in ("instruction", "input")
        for w in _windows(rec.get(name, "") or "")
    ]


def _verbatim(question: str, rec: dict) -> tuple[str, str] | None:
    """(kind, field) when ``question`` equals or appears word for word in a field of ``rec``."""
    q = normalize_text(question)
    if not q:
        return None
    ins, inp, out = (rec.get(k, "") or "" for k in ("instruction", "input", "output"))
    fields = [("instruction", ins), ("input", inp), ("instruction+input", f"{ins} {inp}"), ("output", out)]
    normed = [(name, normalize_text(text)) for name, text in fields]
    for name, text in normed:
        if text == q:
            return "exact", name
    if len(q.split()) >= MIN_CONTAINED_WORDS:
        for name, text in normed:
            if f" {q} " in f" {text} ":
                return "contained", name
    return None


def _similar(queries: list[str], q_vectors, texts: list[str], t_vectors, threshold: float, guard):
    """(query index, text index, cosine) of every pair at or above ``threshold`` that ``guard`` accepts."""
    for start in range(0, len(texts), _BATCH):
        sims = (q_vectors @ t_vectors[start : start + _BATCH].T).tocoo()
        hit = sims.data >= threshold
        for qi, ti, s in zip(sims.row[hit], sims.col[hit], sims.data[hit], strict=True):
            if guard(queries[qi], texts[start + ti]):
                yield int(qi), start + int(ti), float(s)


def _possible_containers(q_presence, t_presence):
    """(query index, text index) where every term of the query occurs in the text.

    A cheap prefilter for the word-for-word test: a question that appears verbatim in a text
    has all its terms there.
    """
    need = q_presence.sum(axis=1).A1
    for start in range(0, t_presence.shape[0], _BATCH):
        shared = (q_presence @ t_presence[start : start + _BATCH].T).tocoo()
        hit = shared.data >= need[shared.row]
        for qi, ti in zip(shared.row[hit], shared.col[hit], strict=True):
            yield int(qi), start + int(ti)


def find_leaks(
    suites: dict[str, list], records: list[dict], threshold: float, answer_threshold: float = 0.8
) -> LeakReport:
    """Every (question, record) overlap, the strongest kind for each pair (see the module doc).

    ``suites`` maps a suite's name to its items (:class:`SuiteItem`, or plain question strings).
    """
    import scipy.sparse as sp

    flat = [
        (suite, item if isinstance(item, SuiteItem) else SuiteItem(str(item)))
        for suite, items in suites.items()
        for item in items
    ]
    report = LeakReport(list(suites), len(flat), len(records), threshold, answer_threshold)
    if not flat or not records:
        return report
    questions = [item.question for _, item in flat]
    refs = [(n, item.reference) for n, (_, item) in enumerate(flat) if item.reference]
    ref_texts = [r for _, r in refs]
    outputs = [rec.get("output", "") or "" for rec in records]

    # Hash every text once; the counts serve the document frequencies, the term sets and the vectors.
    space = TfidfSpace()
    ins, inp = ([rec.get(k, "") or "" for rec in records] for k in ("instruction", "input"))
    both = [f"{a}\n{b}" if a.strip() and b.strip() else "" for a, b in zip(ins, inp, strict=True)]
    ins_c, inp_c, both_c, out_c, q_c = (space.counts(t) for t in (ins, inp, both, outputs, questions))
    r_c = space.counts(ref_texts) if refs else None
    space.fit(ins_c, inp_c, out_c, q_c, *([r_c] if refs else []))
    windows = _windows_of(records)
    n = len(records)
    unit_texts = ins + inp + both + [t for _, _, t in windows]
    unit_owner = [(i, f) for f in ("instruction", "input", "instruction+input") for i in range(n)]
    unit_owner += [(i, name) for i, name, _ in windows]
    units_c = sp.vstack(
        [ins_c, inp_c, both_c] + ([space.counts([t for _, _, t in windows])] if windows else [])
    )

    best: dict[tuple[int, int], tuple[int, float, str]] = {}  # (item, record) -> (rank, sim, field)

    def offer(item: int, rec: int, kind: str, sim: float, where: str) -> None:
        rank = KINDS.index(kind)
        old = best.get((item, rec))
        if old is None or (rank, -sim) < (old[0], -old[1]):
            best[(item, rec)] = (rank, min(sim, 1.0), where)

    anywhere = space.presence(both_c)
    for counts in (ins_c, inp_c, out_c):
        anywhere = anywhere.maximum(space.presence(counts))
    for qi, ri in _possible_containers(space.presence(q_c), anywhere.tocsr()):
        hit = _verbatim(questions[qi], records[ri])
        if hit:
            offer(qi, ri, hit[0], 1.0, hit[1])
    near = _similar(questions, space.weigh(q_c), unit_texts, space.weigh(units_c), threshold, same_key_terms)
    for qi, ui, sim in near:
        offer(qi, unit_owner[ui][0], "near", sim, unit_owner[ui][1])
    if refs:
        for k, ri in _possible_containers(space.presence(r_c), space.presence(out_c)):
            ref = normalize_text(ref_texts[k])
            if (
                len(ref.split()) >= MIN_CONTAINED_ANSWER_WORDS
                and f" {ref} " in f" {normalize_text(outputs[ri])} "
            ):
                offer(refs[k][0], ri, "answer", 1.0, "output")
        answers = _similar(
            ref_texts, space.weigh(r_c), outputs, space.weigh(out_c), answer_threshold, keeps_key_terms
        )
        for k, ri, sim in answers:
            offer(refs[k][0], ri, "answer", sim, "output")

    for (item, rec), (rank, sim, where) in sorted(
        best.items(), key=lambda kv: (kv[0][0], kv[1][0], kv[0][1])
    ):
        suite, it = flat[item]
        report.leaks.append(
            Leak(suite, it.question, KINDS[rank], round(sim, 4), rec, records[rec]["instruction"], where)
        )
    return report


def check(records: list[dict], leak_cfg, extra_suites=()) -> LeakReport | None:
    """The leak report of ``records`` against ``leak_cfg.suites`` plus ``extra_suites`` (None when none)."""
    names: dict[Path, str] = {}  # one check per file, however it was named (law_ec or its path)
    for name in [str(s) for s in leak_cfg.suites] + [str(s) for s in extra_suites]:
        names.setdefault(suite_file(name).resolve(), name)
    if not names:
        return None
    if leak_cfg.on_leak not in ON_LEAK:
        raise ConfigError(
            f"dataset.leak_check.on_leak: '{leak_cfg.on_leak}' is not one of {', '.join(ON_LEAK)}"
        )
    answer_threshold = getattr(leak_cfg, "answer_threshold", 0.8)
    for key, value in (("near_threshold", leak_cfg.near_threshold), ("answer_threshold", answer_threshold)):
        if not 0.0 < value <= 1.0:
            raise ConfigError(f"dataset.leak_check.{key} must be in (0, 1] (got {value})")
    suites = {name: load_suite(name, leak_cfg.question_field) for name in names.values()}
    return find_leaks(suites, records, leak_cfg.near_threshold, answer_threshold)


def enforce(report: LeakReport, records: list[dict], on_leak: str) -> list[dict]:
    """Apply the ``on_leak`` policy: raise (fail), remove the records (drop) or only warn."""
    if not report.leaks:
        return records
    first = report.leaks[0]
    summary = (
        f"{len(report.leaking_records())} training record(s) contain evaluation questions "
        f"({report.summary()} match(es); e.g. {first.question[:60]!r} from {first.suite}, "
        f"{first.kind} in record {first.record_index}'s {first.field})"
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
    from sftlab.data.records import normalize, read_local

    cfg = compose("data_check_leaks", overrides)
    for key, value in (("threshold", cfg.threshold), ("answer_threshold", cfg.answer_threshold)):
        if not 0.0 < value <= 1.0:
            raise ConfigError(f"{key} must be in (0, 1] (got {value})")
    names = list(cfg.suites) or list(BUNDLED_SUITES)
    records = normalize(read_local(cfg.train), cfg.format, cfg.train)
    suites = {s: load_suite(s, cfg.question_field) for s in names}
    report = find_leaks(suites, records, cfg.threshold, cfg.answer_threshold)
    for leak in report.leaks:
        print(
            f"{leak.kind:9s} {leak.similarity:.2f}  {leak.suite}: {leak.question[:70]!r}  "
            f"~ record {leak.record_index} ({leak.field}): {leak.record_instruction[:70]!r}"
        )
    print(
        f"{report.questions} question(s) vs {report.records} record(s): {report.summary()} overlap(s) "
        f"in {len(report.leaking_records())} record(s)"
    )
    if cfg.report:
        Path(cfg.report).write_text(
            json.dumps(report.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8"
        )
    return 1 if report.leaks else 0
