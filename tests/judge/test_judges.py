"""Judges in-process: strict reply parsing, scoring arithmetic, the openai client against a real
HTTP server on 127.0.0.1 (malformed replies, 429, 500, timeouts, concurrency), the hf_local judge,
and configuration errors that name their key."""

from __future__ import annotations

import math

import pytest
from chat_server import JudgeServer

from sftlab.config.errors import ConfigError, DataError
from sftlab.judge.rubric import ReplyError, parse_reply
from sftlab.judge.scoring import agreement, best_of_n, markdown_tables, summarize, summary_metrics

KEY = "sk-test-judges-0123456789abcdef"


@pytest.mark.parametrize(
    "reply, expected",
    [
        ('{"score": 4, "reason": "Correcta y clara."}', (4, "Correcta y clara.")),
        ('  {"reason": "Mala.", "score": 1}\n', (1, "Mala.")),
        ('```json\n{"score": 5, "reason": "Perfecta."}\n```', (5, "Perfecta.")),
    ],
)
def test_parse_reply_accepts_exactly_score_and_reason(reply, expected):
    assert parse_reply(reply) == expected


@pytest.mark.parametrize(
    "reply, why",
    [
        ("", "empty"),
        (None, "empty"),
        ("Le doy un 4.", "not a JSON object"),
        ('Nota: {"score": 4, "reason": "x"}', "not a JSON object"),
        ('{"score": 4.0, "reason": "x"}', "not an integer"),
        ('{"score": "4", "reason": "x"}', "not an integer"),
        ('{"score": true, "reason": "x"}', "not an integer"),
        ('{"score": 0, "reason": "x"}', "outside 1-5"),
        ('{"score": 6, "reason": "x"}', "outside 1-5"),
        ('{"score": 3, "reason": "  "}', "reason"),
        ('{"score": 3}', "exactly the keys"),
        ('{"score": 3, "reason": "x", "extra": 1}', "exactly the keys"),
        ('[3, "x"]', "exactly the keys"),
    ],
)
def test_parse_reply_rejects_everything_else(reply, why):
    with pytest.raises(ReplyError, match=why):
        parse_reply(reply)


def _row(suite, item, category, attempt, score, human=None):
    return {
        "suite": suite,
        "item": item,
        "category": category,
        "attempt": attempt,
        "score": score,
        "human_score": human,
    }


def test_best_of_n_means_and_agreement():
    rows = [
        _row("s", "a", "simple", 1, 2, 2),
        _row("s", "a", "simple", 2, 4, 5),  # best of a: 4
        _row("s", "b", "simple", 1, None, 3),
        _row("s", "b", "simple", 2, 3, 3),  # a missing attempt does not sink the item: best 3
        _row("s", "c", "complex", 1, None, None),
        _row("s", "c", "complex", 2, None, 1),  # nothing graded: missing, not zero
        _row("t", "d", "simple", 1, 1, None),
    ]
    best = best_of_n(rows)
    assert best[("s", "a")]["best"] == 4 and best[("s", "a")]["attempt"] == 2
    assert best[("s", "c")]["best"] is None and best[("s", "c")]["graded"] == 0
    summary = summarize(rows)
    assert summary["s"]["categories"]["simple"] == {"mean": 3.5, "items": 2, "missing": 0}
    assert math.isnan(summary["s"]["categories"]["complex"]["mean"])
    assert summary["s"]["missing"] == 1 and summary["s"]["mean"] == 3.5
    metrics = summary_metrics(summary, "judge")
    assert metrics["judge/s/simple"] == 3.5 and metrics["judge/t/simple"] == 1.0
    assert "judge/s/complex" not in metrics and metrics["judge/s/missing_items"] == 1.0
    stats = agreement(rows, "score", "human_score")
    # attempts graded by both: (2,2) (4,5) (3,3)
    assert (
        stats["n"] == 3
        and stats["exact"] == pytest.approx(2 / 3)
        and stats["mean_abs_diff"] == pytest.approx(1 / 3)
    )
    table = markdown_tables({"m (llm)": summary, "m (human)": summarize(rows, "human_score")})
    assert "| Model (judge) | Simple | Complex | Mean | Missing |" in table
    assert "| m (llm) | 3.50 | – | 3.50 | 1/3 |" in table
    assert "| m (human) | 4.00 | 1.00 | 3.00 | 0/3 |" in table  # human: a=5, b=3, c=1


def _rows_for(markers: list[str]) -> list[dict]:
    return [
        {
            "suite": "t",
            "category": "x",
            "item": f"i{n}",
            "attempt": 1,
            "question": f"{m} ¿Qué es el IVA?",
            "conversation": "",
            "reference": "Un impuesto al valor agregado." if n == 0 else "",
            "answer": f"Respuesta {n}",
        }
        for n, m in enumerate(markers)
    ]


@pytest.fixture
def server_judge(compose, monkeypatch):
    """An OpenAICompatibleJudge on a fresh scripted server (timeout 1 s, 1 HTTP retry, concurrency 3)."""
    from sftlab.judge.judges import build_judge

    monkeypatch.setenv("SFTLAB_TEST_JUDGE_KEY", KEY)
    with JudgeServer(KEY, slow_s=2.5) as server:
        cfg = compose(
            "judge=openai_compatible",
            f"judge.base_url={server.base_url}",
            "judge.model=juez-test",
            "judge.api_key_env=SFTLAB_TEST_JUDGE_KEY",
            "judge.timeout_s=1",
            "judge.max_retries=1",
            "judge.parse_retries=2",
            "judge.concurrency=3",
        )
        judge = build_judge(cfg.judge)
        yield cfg, judge, server
        judge.close()


def test_server_judge_handles_bad_replies_errors_and_timeouts(server_judge):
    from sftlab.judge.judges import grade_rows

    cfg, judge, server = server_judge
    markers = [
        "[[ok:5]]",
        "[[fenced:2]]",
        "[[badthen:3]]",
        "[[never]]",
        "[[429then:4]]",
        "[[500then:1]]",
        "[[slow]]",
    ]
    markers += [f"[[ok:{n}]]" for n in (1, 2, 3, 4)]  # enough work to overlap requests
    verdicts = grade_rows(judge, cfg.judge.rubric, _rows_for(markers), cfg.judge.concurrency)
    got = {m: v for m, v in zip(markers, verdicts, strict=False)}
    assert got["[[ok:5]]"]["score"] == 5 and got["[[ok:5]]"]["reason"] == "nota 5 para ok"
    assert got["[[fenced:2]]"]["score"] == 2
    assert got["[[badthen:3]]"]["score"] == 3 and got["[[badthen:3]]"]["judge_asks"] == 2
    never = got["[[never]]"]
    assert (
        never["score"] is None
        and never["judge_asks"] == 3
        and never["judge_error"].startswith("unparseable reply after 3 asks")
    )
    assert got["[[429then:4]]"]["score"] == 4 and server.markers["429then"] == 2  # retried with back-off
    assert got["[[500then:1]]"]["score"] == 1 and server.markers["500then"] == 2
    slow = got["[[slow]]"]
    assert slow["score"] is None and slow["judge_error"].startswith("timeout") and server.markers["slow"] == 2
    assert all(v["judge_error"] == "" for m, v in got.items() if m not in ("[[never]]", "[[slow]]"))
    assert 2 <= server.max_active <= 3  # concurrent, and never above judge.concurrency
    assert server.unauthorized == 0 and server.models == {"juez-test"}
    assert server.references_seen >= 1  # the reference answer reaches the judge


def test_identical_answers_are_graded_once(server_judge):
    from sftlab.judge.judges import grade_rows

    cfg, judge, server = server_judge
    rows = _rows_for(["[[ok:4]]"]) * 3
    rows = [{**r, "attempt": a} for a, r in enumerate(rows, 1)]
    verdicts = grade_rows(judge, cfg.judge.rubric, rows, 2)
    assert [v["score"] for v in verdicts] == [4, 4, 4] and server.markers["ok"] == 1


def test_a_rejected_key_is_an_item_error_not_a_crash(compose, monkeypatch):
    from sftlab.judge.judges import build_judge, grade_rows

    monkeypatch.setenv("SFTLAB_TEST_JUDGE_KEY", "sk-wrong-key-42")
    with JudgeServer(KEY) as server:
        cfg = compose(
            "judge=openai_compatible",
            f"judge.base_url={server.base_url}",
            "judge.api_key_env=SFTLAB_TEST_JUDGE_KEY",
            "judge.max_retries=0",
        )
        (verdict,) = grade_rows(build_judge(cfg.judge), cfg.judge.rubric, _rows_for(["[[ok:5]]"]))
    assert verdict["score"] is None and verdict["judge_error"].startswith("HTTP 401")
    assert "sk-wrong-key-42" not in verdict["judge_error"]


def test_judge_options_compose_and_bad_settings_name_their_key(compose, monkeypatch):
    from sftlab.judge.stage import preflight

    for option in ("none", "openai_compatible", "hf_local", "human"):
        cfg = compose(f"judge={option}")
        assert cfg.judge.kind == option and cfg.judge.rubric.version == "sftlab-es-v1"
    assert compose().judge.kind == "none"  # python train.py stays fast: no judging by default

    monkeypatch.delenv("SFTLAB_UNSET_KEY", raising=False)
    cfg = compose("judge=openai_compatible", "judge.api_key_env=SFTLAB_UNSET_KEY")
    with pytest.raises(
        ConfigError, match=r"^judge.api_key_env: environment variable SFTLAB_UNSET_KEY is not set"
    ):
        preflight(cfg)
    with pytest.raises(DataError, match="judge.suites: unknown suite 'nada'"):
        preflight(compose("judge=human", "judge.suites=[nada]"))
    with pytest.raises(ConfigError, match="judge.concurrency"):
        preflight(compose("judge=human", "judge.concurrency=0"))
    with pytest.raises(ConfigError, match="generation.penalty_alpha"):
        preflight(compose("judge=human", "generation.penalty_alpha=1.5"))
    with pytest.raises(DataError, match="two suites are named 'law_ec'"):
        preflight(compose("judge=human", "judge.suites=[law_ec,law_ec]"))


def test_bad_prompt_template_names_the_key(compose):
    from sftlab.judge.rubric import judge_messages

    cfg = compose("judge=human", "judge.rubric.prompt_template='{question} {answer} {nota}'")
    with pytest.raises(ConfigError, match="judge.rubric.prompt_template"):
        judge_messages(cfg.judge.rubric, _rows_for(["x"])[0])


def test_hf_local_judge_records_unparseable_replies_as_missing(compose, tmp_path):
    """A tiny random model cannot produce the JSON: every ask fails, the score stays missing."""
    import shutil

    from sftlab.judge.judges import build_judge, grade_rows
    from sftlab.model.loading import resolve_source

    cfg = compose("quantization=none")
    folder = resolve_source(cfg.model)
    bare = tmp_path / "no_template"  # the tiny tokenizer ships LLaMA-2's template; a copy without it
    shutil.copytree(folder, bare)
    (bare / "chat_template.jinja").unlink()
    with pytest.raises(ConfigError, match="judge.prompt_format"):
        build_judge(compose("judge=hf_local", f"judge.model={bare}").judge)  # no chat template
    cfg = compose(
        "judge=hf_local",
        f"judge.model={folder}",
        "judge.prompt_format=llama2_chat",
        "judge.dtype=float32",
        "judge.max_tokens=6",
        "judge.parse_retries=1",
    )
    judge = build_judge(cfg.judge)
    (verdict,) = grade_rows(judge, cfg.judge.rubric, _rows_for(["[[ok:5]]"]))
    assert verdict["score"] is None and verdict["judge_asks"] == 2
    assert verdict["judge_error"].startswith("unparseable reply after 2 asks")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_human_file_round_trip_in_both_formats(tmp_path, fmt):
    import csv
    import json

    from sftlab.judge.human_scores import export_for_people, merge_human, read_filled

    rows = [{**r, "category": "x", "method": "greedy", "seed": 1} for r in _rows_for(["a", "b", "c"])]
    rows[1]["answer"] = 'Línea 1\nLínea 2, con "comillas"'  # survives both formats
    path = export_for_people(rows, tmp_path / f"t.{fmt}", fmt)
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as f:
            lines = list(csv.DictReader(f))
        lines[0]["human_score"], lines[1]["human_score"], lines[1]["human_reason"] = "4", " 2 ", "floja"
        with path.open("w", encoding="utf-8-sig", newline="") as f:  # as a spreadsheet saves it
            writer = csv.DictWriter(f, fieldnames=list(lines[0]))
            writer.writeheader()
            writer.writerows(lines)
    else:
        lines = [json.loads(t) for t in path.read_text(encoding="utf-8").splitlines()]
        assert lines[1]["answer"] == rows[1]["answer"]
        lines[0]["human_score"], lines[1]["human_score"], lines[1]["human_reason"] = 4, 2, "floja"
        path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    filled = read_filled(path)
    assert merge_human(rows, filled, str(path)) == 2
    assert [r["human_score"] for r in rows] == [4, 2, None] and rows[1]["human_reason"] == "floja"

    lines[2]["human_score"] = "4.5" if fmt == "csv" else 4.5
    lines[2]["item"] = "i2"
    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(lines[0]))
            writer.writeheader()
            writer.writerows(lines)
    else:
        path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    with pytest.raises(DataError, match=rf"{path}:\d+: human_score must be an integer 1-5"):
        read_filled(path)


def test_human_file_with_foreign_lines_is_rejected(tmp_path):
    from sftlab.judge.human_scores import export_for_people, merge_human, read_filled

    rows = [{**r, "category": "x", "method": "greedy", "seed": 1} for r in _rows_for(["a"])]
    path = export_for_people(rows, tmp_path / "t.csv")
    path.write_text(path.read_text(encoding="utf-8").replace(",i0,", ",otro,"), encoding="utf-8")
    with pytest.raises(DataError, match="not attempts of this run"):
        merge_human(rows, read_filled(path), str(path))
