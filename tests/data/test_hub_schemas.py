"""Each hub dataset the real commands load, read through our loader from one record with the
real schema (columns and split names from the dataset cards), with ``datasets.load_dataset``
answering in place of the hub.

* bertin-project/alpaca-spanish: split ``train``; instruction, input, output.
* argilla/databricks-dolly-15k-curated-multilingual: splits de/en/es/fr (``es`` used);
  instruction, context, response, category, {instruction,context,response}_original_en, id.
* facebook/belebele: config ``spa_Latn``, split ``test`` (900 rows); link, question_number (int),
  flores_passage, question, mc_answer1..4, correct_answer_num (the *string* "1".."4"), dialect, ds.
"""

from __future__ import annotations

import datasets
import pytest

from sftlab.data.eval_data import _check_belebele
from sftlab.data.records import load_source_records

ALPACA = {
    "instruction": "Dame tres consejos para mantenerme sano.",
    "input": "",
    "output": "1. Come una dieta equilibrada. 2. Haz ejercicio. 3. Duerme bien.",
}
DOLLY = {
    "instruction": "¿Cuándo se fundó Quito?",
    "context": "San Francisco de Quito fue fundada el 6 de diciembre de 1534.",
    "response": "El 6 de diciembre de 1534.",
    "category": "closed_qa",
    "instruction_original_en": "When was Quito founded?",
    "context_original_en": "San Francisco de Quito was founded on 6 December 1534.",
    "response_original_en": "On 6 December 1534.",
    "id": 7,
}
BELEBELE = {
    "link": "https://en.wikibooks.org/wiki/Accordion/Right_hand",
    "question_number": 1,
    "flores_passage": "Asegúrese de que su mano esté lo más relajada posible mientras toca todas las notas.",
    "question": "¿Qué se recomienda al tocar el acordeón?",
    "mc_answer1": "Tocar rápido",
    "mc_answer2": "Relajar la mano",
    "mc_answer3": "Pulsar fuerte",
    "mc_answer4": "Usar un solo dedo",
    "correct_answer_num": "2",
    "dialect": "spa_Latn",
    "ds": "2023-05-03 00:00:00",
}
HUB = {
    ("bertin-project/alpaca-spanish", None, "train"): ALPACA,
    ("argilla/databricks-dolly-15k-curated-multilingual", None, "es"): DOLLY,
}


@pytest.fixture
def fake_hub(monkeypatch):
    """``datasets.load_dataset`` serving the records above for exactly the real ids and splits."""
    asked = []

    def load(path, name=None, split=None, **kwargs):
        asked.append((path, name, split))
        if (path, name, split) not in HUB:
            raise ValueError(f"Unknown split or config: {(path, name, split)}")  # what the hub says
        return datasets.Dataset.from_list([HUB[(path, name, split)]])

    monkeypatch.setattr(datasets, "load_dataset", load)
    return asked


def test_alpaca_es_and_dolly_es_load_with_their_real_schema(compose, fake_hub):
    cfg = compose("dataset=alpaca_dolly_es")
    parts = dict(load_source_records(cfg.dataset))
    assert fake_hub == list(HUB)  # the study's mix asks for exactly these ids and splits
    assert parts["alpaca_es"] == [ALPACA]
    assert parts["dolly_es"] == [
        {"instruction": DOLLY["instruction"], "input": DOLLY["context"], "output": DOLLY["response"]}
    ]


def test_belebele_spanish_record_passes_the_check_and_the_task_reads_it():
    _check_belebele(dict(BELEBELE), "facebook/belebele spa_Latn test")
    # lm-eval's own task reads the hub data (eval=belebele_full): same config, split and fields.
    import yaml
    from lm_eval import tasks

    folder = __import__("pathlib").Path(tasks.__file__).parent / "belebele"
    task = yaml.safe_load((folder / "belebele_spa_Latn.yaml").read_text())
    template = (folder / "_default_template_yaml").read_text()
    assert (task["dataset_name"], task["test_split"]) == ("spa_Latn", "test")
    assert "dataset_path: facebook/belebele" in template
    assert "['1', '2', '3', '4'].index(correct_answer_num)" in template  # the string answer number
    for field in ("flores_passage", "question", "mc_answer1", "mc_answer4"):
        assert "{{" + field in template
