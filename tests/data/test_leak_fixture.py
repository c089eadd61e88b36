"""The leak check against the crafted leak set: recall per way of leaking, false positives on the bundled data.

``leak_fixture/leak_set.jsonl`` (written by ``leak_fixture/make_leak_set.py``) plants the 30
``law_ec`` questions in training records seven ways. They are checked, together with every
bundled training file, against every bundled suite at the default thresholds; the test prints
the table and needs >= 28/30 on every row and no bundled record flagged.

Measured (this branch): exact 30, normalized 30, paraphrase 28, prefix 30, suffix 30, in_input 30,
answer 30; 0 false positives. The character 4-gram Jaccard check it replaced (commit fe72de4,
threshold 0.85) caught 30, 30, 7, 2, 2, 0, 0.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from sftlab.config.paths import asset_path

FIXTURE = Path(__file__).parent / "leak_fixture"
ROWS = ("exact", "normalized", "paraphrase", "prefix", "suffix", "in_input", "answer")
BUNDLED = (
    ("data/sample_es.jsonl", "alpaca"),
    ("data/alpaca_es_sample.jsonl", "alpaca"),
    ("data/dolly_es_sample.jsonl", "dolly"),
    ("data/sri_tax_law_sample.jsonl", "qa"),
    ("data/belebele_spa_answers.jsonl", "alpaca"),
)


def _maker():
    spec = importlib.util.spec_from_file_location("make_leak_set", FIXTURE / "make_leak_set.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fixture_is_what_its_script_writes():
    maker = _maker()
    items = [json.loads(line) for line in Path(maker.SUITE).read_text("utf-8").splitlines()]
    expected = [maker.planted(row, i, item) for row in maker.ROWS for i, item in enumerate(items)]
    stored = [json.loads(line) for line in (FIXTURE / "leak_set.jsonl").read_text("utf-8").splitlines()]
    assert stored == expected and len(stored) == 7 * 30


def test_recall_per_row_and_no_false_positive_on_bundled_data(capsys):
    from sftlab.config.schema import LeakCheckConfig
    from sftlab.data.leak_check import find_leaks, load_suite
    from sftlab.data.records import normalize, read_local

    defaults = LeakCheckConfig()
    bundled = [rec for path, fmt in BUNDLED for rec in normalize(read_local(asset_path(path)), fmt, path)]
    planted = [json.loads(line) for line in (FIXTURE / "leak_set.jsonl").read_text("utf-8").splitlines()]
    records = bundled + [{k: p[k] for k in ("instruction", "input", "output")} for p in planted]
    suites = {name: load_suite(name) for name in defaults.suites}
    report = find_leaks(suites, records, defaults.near_threshold, defaults.answer_threshold)

    law_id = {
        item["prompt"]: item["id"] for item in map(json.loads, open(asset_path("prompts/law_ec.jsonl")))
    }
    caught = {row: set() for row in ROWS}
    false_positives = []
    for leak in report.leaks:
        if leak.record_index < len(bundled):
            false_positives.append(leak)
            continue
        p = planted[leak.record_index - len(bundled)]
        if law_id.get(leak.question) == p["suite_id"]:  # attributed to the question it was made from
            caught[p["row"]].add(p["suite_id"])
    with capsys.disabled():
        print("\n| how the question appears in training | caught |\n|---|---|")
        for row in ROWS:
            print(f"| {row} | {len(caught[row])}/30 |")
        print(f"false positives on {len(bundled)} bundled records: {len(false_positives)}")
    assert not false_positives, [(f.kind, f.question, f.record_instruction) for f in false_positives]
    assert all(len(caught[row]) >= 28 for row in ROWS), {row: len(c) for row, c in caught.items()}
    assert len(caught["exact"]) == len(caught["answer"]) == 30


def test_key_terms_tell_near_identical_questions_apart():
    from sftlab.data.text_similarity import key_terms, same_key_terms

    iva = "¿Cuál es el plazo de la declaración mensual del IVA?"
    assert not same_key_terms(iva, iva.replace("IVA", "ICE"))
    assert not same_key_terms("¿Qué dice el artículo 9?", "¿Qué dice el artículo 10?")
    assert not same_key_terms("¿Cuál es la capital de Ecuador?", "¿Cuál es la capital de Colombia?")
    assert same_key_terms(iva, iva.replace("IVA", "impuesto al valor agregado"))
    assert key_terms("¿Qué grava el Impuesto a la Salida de Divisas (ISD)?") == {"isd"}
    assert key_terms("Escribe un poema de cuatro versos") == {"cuatro"}
    # A question in capitals has no names to compare, so the other side's names count against it.
    assert not same_key_terms("¿QUÉ POSICIÓN OCUPA NEPTUNO?", "¿Qué posición ocupa Urano?")


def test_every_dataset_is_checked_against_every_suite(tmp_path, compose):
    """A law question in a file trained as *any* dataset, and a judge suite of the run, are caught."""
    import pytest

    from sftlab.config.errors import DataError
    from sftlab.data.mixing import prepare_records

    law = [
        json.loads(line) for line in Path(asset_path("prompts/law_ec.jsonl")).read_text("utf-8").splitlines()
    ]
    rows = [
        json.loads(line) for line in Path(asset_path("data/sample_es.jsonl")).read_text("utf-8").splitlines()
    ]
    rows.append(
        {"instruction": "Responde brevemente: " + law[3]["prompt"], "input": "", "output": "Un régimen."}
    )
    mine = tmp_path / "mine.jsonl"
    mine.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    for dataset in ("sample_es", "belebele_answers"):  # the second has no leak_check block of its own
        cfg = compose(f"dataset={dataset}", f"dataset.sources.0.path={mine}", "dataset.eval_fraction=0")
        with pytest.raises(DataError, match=r"law_ec, contained in record \d+'s instruction"):
            prepare_records(cfg.dataset, cfg.model)

    judge_suite = tmp_path / "mine_suite.jsonl"
    judge_suite.write_text(json.dumps({"prompt": rows[0]["instruction"]}, ensure_ascii=False) + "\n", "utf-8")
    cfg = compose("dataset.leak_check.suites=[]", "dataset.eval_fraction=0")
    assert prepare_records(cfg.dataset, cfg.model).leak_report is None
    with pytest.raises(DataError, match="mine_suite.jsonl, exact"):
        prepare_records(cfg.dataset, cfg.model, extra_suites=[str(judge_suite)])


def test_a_suite_named_twice_is_checked_once():
    """law_ec by name (the dataset) and by path (the judge) is one suite, each leak reported once."""
    from sftlab.config.schema import LeakCheckConfig
    from sftlab.data.leak_check import check

    records = [{"instruction": "¿Qué es el RIMPE?", "input": "", "output": "Un régimen."}]
    report = check(records, LeakCheckConfig(), extra_suites=[asset_path("prompts/law_ec.jsonl"), "law_ec"])
    assert report.suites == ["general_es", "law_ec"] and len(report.leaks) == 1 and report.exact == 1
