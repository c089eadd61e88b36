"""``sftlab scores agree``: two judge runs compared on the attempts both graded.

Two MLflow runs in a test store carry ``judge/attempts.jsonl`` and ``meta.json`` written by the
judge stage's own :func:`sftlab.judge.stage.record`; the command matches their attempts, prints one
table (kappa, Spearman, intervals, n) and logs it to both runs.
"""

from __future__ import annotations

import math

import pytest

from sftlab.judge.judge_agreement import agreement_table, pair_rows
from sftlab.judge.statistics import agreement_stats

SCORES_A = [5, 4, 3, 2, 1, 4, 5, 3, 2, 4]
SCORES_B = [5, 3, 3, 2, 2, 4, 4, 3, 1, None]  # the last attempt: judge B gave no score


def _rows(scores, judge: str, extra: bool = False) -> list[dict]:
    rows = []
    for i, score in enumerate(scores):
        suite = "general_es" if i < 6 else "law_ec"
        rows.append(
            {"suite": suite, "category": "c", "prompt_id": f"p{i // 2}", "turn": 1, "item": f"p{i // 2}",
             "attempt": i % 2 + 1, "question": "q", "answer": f"answer {i}", "score": score, "reason": "",
             "judge": judge, "stopped_by": "eos", "answer_tokens": 3, "new_tokens": 4, "note": ""}
        )  # fmt: skip
    if extra:  # an attempt the other run does not have
        rows.append({**rows[0], "item": "only_here", "prompt_id": "only_here"})
    return rows


def _meta(judge: str) -> dict:
    return {"label": "tiny_llama (base)", "judge": judge, "kind": "openai_compatible", "judge_model": judge,
            "rubric_version": "study-2023", "rubric_hash": "h", "num_attempts": 2, "method": "greedy"}  # fmt: skip


def test_pairs_on_suite_item_attempt():
    pairs = pair_rows(_rows(SCORES_A, "a", extra=True), _rows(SCORES_B, "b"))
    assert len(pairs) == 10  # the extra attempt has no partner
    assert [(p["score_a"], p["score_b"]) for p in pairs] == list(zip(SCORES_A, SCORES_B, strict=True))
    table = agreement_table(pairs)
    overall, general, law = table
    assert [r["suite"] for r in table] == ["all", "general_es", "law_ec"]
    assert (overall["matched"], overall["n"], general["n"], law["n"]) == (10, 9, 6, 3)
    both = [{"a": a, "b": b} for a, b in zip(SCORES_A, SCORES_B, strict=True) if b is not None]
    expected = agreement_stats(both, "a", "b")
    assert overall["kappa_quadratic"] == pytest.approx(expected["kappa_quadratic"])
    assert overall["spearman"] == pytest.approx(expected["spearman"])
    assert overall["kappa_ci_low"] <= overall["kappa_quadratic"] <= overall["kappa_ci_high"]
    assert overall["exact"] == pytest.approx(5 / 9)
    assert overall["same_answer"] == 9


@pytest.fixture
def judged_runs(tmp_path):
    """Two judge runs of the same answers, recorded exactly as the judge stage records them."""
    from mlflow.tracking import MlflowClient

    from sftlab.judge.stage import RunLog, record

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=store)
    exp = client.create_experiment("judges", artifact_location=str(tmp_path / "artifacts"))
    ids = []
    for judge, scores in (("gpt4", SCORES_A), ("local_judge", SCORES_B)):
        run = client.create_run(exp, tags={"sftlab.stage": "judge"})
        record(
            RunLog(client=client, run_id=run.info.run_id),
            _rows(scores, judge),
            _meta(judge),
            tmp_path / judge,
        )
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    unjudged = client.create_run(exp).info.run_id
    client.set_terminated(unjudged)
    return store, client, ids, unjudged


def test_command_prints_the_table_and_logs_it_to_both_runs(judged_runs, capsys):
    from sftlab.cli import main

    store, client, (run_a, run_b), _ = judged_runs
    assert main(["scores", "agree", f"run_a={run_a}", f"run_b={run_b}", f"logger.tracking_uri={store}"]) == 0
    out = capsys.readouterr().out
    assert f"gpt4 (run {run_a[:8]}) vs local_judge (run {run_b[:8]})" in out
    both = [{"a": a, "b": b} for a, b in zip(SCORES_A, SCORES_B, strict=True) if b is not None]
    expected = agreement_stats(both, "a", "b")
    (line,) = [s for s in out.splitlines() if s.startswith("| all |")]
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[1:3] == ["10", "9"]  # matched, both scored
    assert cells[6] == f"{expected['kappa_quadratic']:.2f}"
    assert cells[7] == f"[{expected['kappa_ci_low']:.2f}, {expected['kappa_ci_high']:.2f}]"
    assert cells[8] == f"{expected['spearman']:.2f}"
    assert not math.isnan(expected["spearman_ci_low"])
    for run_id, other in ((run_a, run_b), (run_b, run_a)):
        files = {a.path for a in client.list_artifacts(run_id, "judge")}
        assert f"judge/agreement_{other}.md" in files


def test_unjudged_run_is_a_one_line_error(judged_runs, capsys):
    from sftlab.cli import main

    store, _, (run_a, _), unjudged = judged_runs
    assert (
        main(["scores", "agree", f"run_a={run_a}", f"run_b={unjudged}", f"logger.tracking_uri={store}"]) == 2
    )
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert errors == [f"error: run {unjudged} has no judge/attempts.jsonl; was it judged?"]
