"""Prompt suites: the bundled Spanish and law suites have the study's shape; user files load;
bad files fail with one line naming file and line; multi-turn prompts use each model's format."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from sftlab.config.errors import DataError
from sftlab.generate.prompt_formats import FORMATS, to_chat_prompt, to_prompt_completion
from sftlab.generate.suites import categories, load_suite


def test_general_es_has_the_studys_categories():
    prompts = load_suite("general_es")
    assert categories(prompts) == ["simple", "complex", "creative", "contextual"]
    assert Counter(p.category for p in prompts) == {
        "simple": 10,
        "complex": 10,
        "creative": 5,
        "contextual": 5,
    }
    series = [p for p in prompts if p.category == "contextual"]
    assert all(p.multi_turn and len(p.turns) == 5 for p in series)
    assert not any(p.multi_turn for p in prompts if p.category != "contextual")
    texts = [t for p in prompts for t in p.turns]
    assert len(set(texts)) == len(texts)  # no duplicated prompt


def test_law_ec_has_references_for_every_question():
    prompts = load_suite("law_ec")
    assert Counter(p.category for p in prompts) == {"simple": 15, "complex": 15}
    assert all(len(p.turns) == 1 and p.references[0] and len(p.references[0]) > 20 for p in prompts)
    assert all(p.suite == "law_ec" for p in prompts)


def test_user_file_and_subset(tmp_path):
    path = tmp_path / "mi_suite.jsonl"
    rows = [
        {"id": "a", "category": "x", "prompt": "¿Uno?", "reference": "Uno."},
        {"id": "b", "category": "x", "prompt": "¿Dos?"},
        {"id": "c", "category": "y", "turns": ["Hola", "¿Y luego?"], "reference": ["r1", "r2"]},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    prompts = load_suite(str(path))
    assert [p.suite for p in prompts] == ["mi_suite"] * 3
    assert prompts[0].references == ["Uno."] and prompts[1].references == [None]
    assert prompts[2].turns == ["Hola", "¿Y luego?"] and prompts[2].references == ["r1", "r2"]
    assert [p.id for p in load_suite(str(path), max_per_category=1)] == ["a", "c"]


@pytest.mark.parametrize(
    "line, message",
    [
        ("{not json", "not valid JSON"),
        ('{"id": "a", "category": "x"}', "exactly one of 'prompt'"),
        ('{"id": "a", "category": "x", "prompt": "p", "turns": ["t"]}', "exactly one of 'prompt'"),
        ('{"id": "", "category": "x", "prompt": "p"}', "'id'"),
        ('{"id": "a", "category": "x", "turns": ["t1", "t2"], "reference": ["only one"]}', "'reference'"),
    ],
)
def test_bad_suite_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "ok", "category": "x", "prompt": "fine"}\n' + line + "\n")
    with pytest.raises(DataError, match=message) as err:
        load_suite(str(path))
    assert f"{path}:2" in str(err.value) and "\n" not in str(err.value)


def test_unknown_suite_and_duplicate_ids(tmp_path):
    with pytest.raises(DataError, match="unknown suite 'nope'.*general_es"):
        load_suite("nope")
    path = tmp_path / "dup.jsonl"
    path.write_text(
        '{"id": "a", "category": "x", "prompt": "p"}\n{"id": "a", "category": "x", "prompt": "q"}\n'
    )
    with pytest.raises(DataError, match="duplicate id 'a'"):
        load_suite(str(path))


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_single_turn_chat_prompt_is_the_training_prompt(fmt):
    record = {"instruction": "¿Qué es el IVA?", "input": "", "output": "Un impuesto."}
    assert (
        to_chat_prompt([], "¿Qué es el IVA?", fmt, "Sé breve.")
        == to_prompt_completion(record, fmt, "Sé breve.")["prompt"]
    )


def test_multi_turn_prompts_follow_each_family():
    history = [("Hola", "¡Hola! ¿En qué te ayudo?"), ("¿Qué es el RUC?", "Un registro.")]
    llama = to_chat_prompt(history, "¿Y el RIMPE?", "llama2_chat", "Sé breve.", "<s>", "</s>")
    assert llama == (
        "[INST] <<SYS>>\nSé breve.\n<</SYS>>\n\nHola [/INST] ¡Hola! ¿En qué te ayudo? </s><s>"
        "[INST] ¿Qué es el RUC? [/INST] Un registro. </s><s>[INST] ¿Y el RIMPE? [/INST]"
    )
    mistral = to_chat_prompt(history, "¿Y el RIMPE?", "mistral_instruct", None, "<s>", "</s>")
    assert (
        mistral
        == "[INST] Hola [/INST] ¡Hola! ¿En qué te ayudo?</s>[INST] ¿Qué es el RUC? [/INST] Un registro.</s>[INST] ¿Y el RIMPE? [/INST]"
    )
    falcon = to_chat_prompt(history, "¿Y el RIMPE?", "falcon_chat", None, None, "<|endoftext|>")
    assert (
        falcon
        == "User: Hola\nAssistant: ¡Hola! ¿En qué te ayudo?\nUser: ¿Qué es el RUC?\nAssistant: Un registro.\nUser: ¿Y el RIMPE?\nAssistant:"
    )
