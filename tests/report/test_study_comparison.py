"""Our runs beside the study's Tables 4-6: values, differences, intervals, and what is left out."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from sftlab.report.study import (
    across_runs,
    comparison,
    mean_ci,
    mean_of_means_ci,
    study_results,
    write_comparison,
)

HUB = {"eval.task": "belebele_spa_Latn", "eval.data.source": "hub", "eval.limit": "None"}
SAMPLE = {"eval.task": "belebele_spa_Latn", "eval.data.source": "local", "eval.limit": "None"}


def _run(run_id, model, metrics, params=HUB):
    return SimpleNamespace(
        info=SimpleNamespace(run_id=run_id),
        data=SimpleNamespace(tags={"model": model}, params=dict(params), metrics=dict(metrics)),
    )


class _Client:
    """Serves ``judge/attempts.jsonl`` per run id from a dict."""

    def __init__(self, attempts):
        self.attempts = attempts

    def download_artifacts(self, run_id, path, dst):
        if run_id not in self.attempts:
            raise FileNotFoundError(path)
        out = Path(dst) / "attempts.jsonl"
        out.write_text("\n".join(json.dumps(r) for r in self.attempts[run_id]))
        return str(out)


BELEBELE = {
    "belebele/acc": 0.46,
    "belebele/acc_stderr": 0.0166,
    "belebele/base_acc": 0.55,
    "belebele/base_acc_stderr": 0.0166,
    "belebele/delta_acc": -0.09,
    "belebele/delta_acc_ci_low": -0.12,
    "belebele/delta_acc_ci_high": -0.06,
}


def _attempt(suite, category, item, attempt, score, human=None):
    return {
        "suite": suite,
        "category": category,
        "item": item,
        "attempt": attempt,
        "score": score,
        "human_score": human,
    }


def test_the_shipped_results_are_the_studys():
    study = study_results()
    assert study["table5_belebele_spa_Latn_accuracy"]["with_lora"]["llama2_7b_chat"] == 0.472
    assert study["table4_spanish_instructions"]["average"]["mistral_7b"] == 0.0 + 4.0275
    assert study["table6_law_instructions"]["complex"]["falcon_7b"] == 3.16


def test_intervals_on_known_data():
    mean, low, high = mean_ci([1, 2, 3, 4, 5] * 4)
    assert mean == 3 and low < 3 < high and high - low < 1.6
    assert mean_ci([4, 4, 4])[1:] == (4.0, 4.0)
    assert math.isnan(mean_ci([4])[1])
    mean, low, high = across_runs([0.50, 0.52, 0.54])
    assert mean == pytest.approx(0.52) and (low, high) == pytest.approx((0.4703, 0.5697), abs=1e-3)
    value, low, high = mean_of_means_ci([[3, 4, 5, 4], [1, 2, 2, 1]])
    assert value == pytest.approx(2.75) and low < 2.75 < high


def test_runs_land_beside_the_right_cells_and_the_synthetic_sample_is_left_out(tmp_path):
    attempts = [
        _attempt("general_es", "simple", "s1", 1, 2),
        _attempt("general_es", "simple", "s1", 2, 4),  # best 4
        _attempt("general_es", "simple", "s2", 1, 3),
        _attempt("general_es", "creative", "c1", 1, 5),
        _attempt("general_es", "creative", "c2", 1, 5),
        _attempt("law_ec", "simple", "l1", 1, None, human=4),
        _attempt("law_ec", "simple", "l2", 1, None, human=3),
    ]
    runs = [
        _run("a", "llama2_7b_chat", {**BELEBELE, "judge/general_es/simple": 3.5}),
        _run("b", "mistral_7b", BELEBELE, SAMPLE),  # bundled synthetic sample: never beside Table 5
        _run("c", "tiny_llama", BELEBELE),  # not a study model unless compare_as says so
    ]
    rows, notes = comparison(_Client({"a": attempts}), runs)
    cell = {(r["table"], r["row"], r["model"]): r for r in rows}
    with_lora = cell[("table5", "with_lora", "llama2_7b_chat")]
    assert with_lora["study"] == 0.472 and with_lora["ours"] == 0.46
    assert with_lora["diff"] == pytest.approx(-0.012) and with_lora["inside"] == "yes"
    change = cell[("table5", "change", "llama2_7b_chat")]
    assert change["study"] == pytest.approx(-0.075) and (change["ci_low"], change["ci_high"]) == (
        -0.12,
        -0.06,
    )
    assert cell[("table4", "simple", "llama2_7b_chat")]["ours"] == 3.5  # best of attempts: (4 + 3) / 2
    assert cell[("table4", "average", "llama2_7b_chat")]["ours"] == pytest.approx((3.5 + 5) / 2)
    assert cell[("table6", "simple", "llama2_7b_chat")]["ours"] == 3.5  # people's scores
    assert not any(r["model"] == "mistral_7b" for r in rows)
    assert any("mistral_7b: 1 run(s) left out of Table 5" in n for n in notes)

    rows, _ = comparison(_Client({}), runs, compare_as={"tiny_llama": "falcon_7b"})
    assert {r["model"] for r in rows if r["table"] == "table5"} == {"llama2_7b_chat", "falcon_7b"}

    seeds = [_run(s, "falcon_7b", {**BELEBELE, "belebele/acc": v}) for s, v in (("s1", 0.28), ("s2", 0.30))]
    rows, _ = comparison(_Client({}), seeds)
    two = next(r for r in rows if r["row"] == "with_lora")
    assert two["runs"] == 2 and two["ours"] == pytest.approx(0.29) and two["ci_low"] < 0.287 < two["ci_high"]

    files, _ = write_comparison(_Client({"a": attempts}), runs[:1], tmp_path)
    names = {f.name for f in files}
    assert names == {
        "study_comparison.md",
        "study_comparison.tex",
        "study_comparison.csv",
        "study_comparison.png",
    }
    md = (tmp_path / "study_comparison.md").read_text()
    assert "## Table 5: Belebele spa_Latn accuracy" in md and "| with_lora | 0.472 | 0.460 | -0.012 |" in md
    tex = (tmp_path / "study_comparison.tex").read_text()
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex and "llama2\\_7b\\_chat" in tex
    assert (tmp_path / "study_comparison.png").read_bytes().startswith(b"\x89PNG")
