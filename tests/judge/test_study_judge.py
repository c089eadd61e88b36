"""The study's own judge (judge/rubric=study_2023): its prompt word for word, nothing else sent,
the reply read as a number 1-5 anywhere in a short reply, anything else re-asked then missing."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from chat_server import ChatServer

from sftlab.judge.rubric import ReplyError, parse_number_reply

KEY = "sk-test-study-judge"
STUDY_PROMPT = resources.files("sftlab").joinpath("assets/study/judge_prompt.txt").read_text().rstrip("\n")
NEVER = ["It is a good answer.", "4/5, maybe 3", "Grade: 4.5", "6", "4 " + "because " * 60]


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ("4", 4),
        ("Grade: 2", 2),
        ("I would give it a 5 out of 5.", 5),
        ("3/5", 3),
        ("Le doy un 1 de 5", 1),
        ("**4**", 4),
        ("5. The answer is complete.", 5),
    ],
)
def test_a_number_anywhere_in_a_short_reply_is_the_grade(reply, score):
    assert parse_number_reply(reply)[0] == score


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("", "empty"),
        ("Very good answer.", "no number"),
        ("4 or 5", "more than one"),
        ("4.5", "not an integer"),
        ("0", "not an integer 1-5"),
        ("6", "not an integer 1-5"),
        ("3 " + "x" * 300, "longer than 200"),
    ],
)
def test_anything_else_is_not_a_grade(reply, why):
    with pytest.raises(ReplyError, match=why):
        parse_number_reply(reply)


def _script(user: str, nth: int):
    marker = re.search(r"\[\[(\w+)(?::(\d))?\]\]", user)
    kind, n = marker.group(1), marker.group(2)
    if kind == "bare":
        return n
    if kind == "sentence":
        return f"I would grade this answer a {n} out of 5."
    if kind == "badthen":
        return n if nth > 1 else "The answer is acceptable."
    return NEVER[(nth - 1) % len(NEVER)]


def test_study_judge_sends_only_the_verbatim_prompt_and_reads_numbers(compose, monkeypatch):
    from sftlab.judge.judges import build_judge, grade_rows
    from sftlab.judge.rubric import rubric_fingerprint

    monkeypatch.setenv("SFTLAB_TEST_JUDGE_KEY", KEY)
    markers = ["[[bare:4]]", "[[sentence:2]]", "[[badthen:5]]", "[[never]]"]
    rows = [
        {
            "suite": "general_es",
            "category": "contextual",
            "item": f"i{n}",
            "attempt": 1,
            "question": f"{m} Explica la fotosíntesis.",
            "conversation": "Usuario: hola\nAsistente: hola",  # never shown to the study's judge
            "reference": "Una referencia que el estudio no enviaba.",
            "answer": f"Respuesta {n} [answer]",
        }
        for n, m in enumerate(markers)
    ]
    with ChatServer(KEY, _script) as server:
        cfg = compose(
            "judge=openai_compatible",
            "judge/rubric=study_2023",
            f"judge.base_url={server.base_url}",
            "judge.model=gpt-4",
            "judge.api_key_env=SFTLAB_TEST_JUDGE_KEY",
            "judge.max_retries=0",
            "judge.parse_retries=2",
        )
        assert cfg.judge.rubric.prompt_template == STUDY_PROMPT
        verdicts = grade_rows(build_judge(cfg.judge), cfg.judge.rubric, rows, 1)
    got = dict(zip(markers, verdicts, strict=True))
    assert got["[[bare:4]]"]["score"] == 4 and got["[[sentence:2]]"]["score"] == 2
    assert got["[[badthen:5]]"]["score"] == 5 and got["[[badthen:5]]"]["judge_asks"] == 2
    never = got["[[never]]"]
    assert never["score"] is None and never["judge_asks"] == 3
    assert never["judge_error"].startswith("unparseable reply after 3 asks")
    first = next(e for e in server.log if "[[bare:4]]" in e["user"])
    expected = STUDY_PROMPT.replace("[instruction]", rows[0]["question"]).replace(
        "[answer]", rows[0]["answer"]
    )
    # one user message, the study's sentences with the two slots filled, nothing else
    assert first["messages"] == [{"role": "user", "content": expected}]
    assert all(len(e["messages"]) == 1 for e in server.log)
    assert rubric_fingerprint(cfg.judge.rubric) != rubric_fingerprint(
        compose("judge=openai_compatible").judge.rubric
    )


def test_the_human_export_carries_table_3_word_for_word(tmp_path):
    import yaml

    from sftlab.judge.stage import record

    class Sink:
        def __init__(self):
            self.files = []

        def file(self, path):
            self.files.append(Path(path).name)

        def table(self, rows, name):
            pass

        def metrics(self, metrics):
            pass

        def tags(self, tags):
            pass

    row = {
        "suite": "law_ec",
        "category": "simple",
        "item": "s1",
        "attempt": 1,
        "method": "contrastive",
        "seed": 0,
        "question": "¿Qué es el RUC?",
        "conversation": "",
        "reference": "",
        "answer": "Un registro.",
        "score": None,
        "reason": "",
        "judge_error": "",
        "judge": "people",
        "rubric_version": "study-2023",
    }
    meta = {
        "label": "m",
        "judge": "people",
        "kind": "human",
        "judge_model": "",
        "rubric_version": "study-2023",
        "rubric_hash": "x",
        "num_attempts": 1,
        "method": "contrastive",
    }
    sink = Sink()
    record(sink, [row], meta, tmp_path, export_format="csv")
    assert {"human_scores_template.csv", "human_grading_scale.md"} <= set(sink.files)
    sheet = (tmp_path / "human_grading_scale.md").read_text()
    scale = yaml.safe_load(resources.files("sftlab").joinpath("assets/study/scale.yaml").read_text())
    for level, entry in scale.items():
        for text in entry.values():
            assert text in sheet, text
        assert f"| {level} | {entry['label']} |" in sheet


def test_study_preset_sets_the_studys_judge_and_people_for_law(compose):
    from sftlab.config.errors import ConfigError
    from sftlab.judge.judges import check_judge

    cfg = compose("experiment=study_2023")
    assert cfg.judge.rubric.version == "study-2023" and cfg.judge.rubric.reply_format == "number"
    assert cfg.judge.kind == "openai_compatible" and list(cfg.judge.people_only_suites) == ["law_ec"]
    assert cfg.generation.method == "contrastive" and cfg.generation.num_attempts == 3
    assert cfg.eval.data.source == "hub" and cfg.quantization.name == "nf4"
    check_judge(cfg.judge)
    with pytest.raises(ConfigError, match="judge.people_only_suites: nada not in judge.suites"):
        check_judge(compose("judge=human", "judge.people_only_suites=[nada]").judge)
