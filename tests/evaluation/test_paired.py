"""Paired adapter-vs-base statistics on tables whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sftlab.evaluation.paired import flipped_rows, mcnemar_exact_p, paired_bootstrap_ci, paired_result


def _rows(pairs):
    """Joined rows from (base_is_correct, adapter_is_correct) pairs."""
    return [
        {
            "question_id": f"q{i}",
            "question": f"pregunta {i}",
            "passage": f"pasaje {i}",
            "correct": "A",
            "base_choice": "A" if b else "B",
            "adapter_choice": "A" if a else "C",
            "base_is_correct": b,
            "adapter_is_correct": a,
        }
        for i, (b, a) in enumerate(pairs)
    ]


def test_counts_and_exact_mcnemar_match_the_binomial_test():
    # 30 both right, 10 both wrong, 8 flips to correct, 2 flips to wrong
    pairs = [(True, True)] * 30 + [(False, False)] * 10 + [(False, True)] * 8 + [(True, False)] * 2
    r = paired_result(_rows(pairs))
    assert (r.n, r.flips_to_correct, r.flips_to_wrong) == (50, 8, 2)
    assert r.delta_acc == pytest.approx(6 / 50)
    # exact McNemar = two-sided binomial test of 2 successes in 10 discordant pairs at p=1/2
    assert r.mcnemar_p == pytest.approx(0.109375)  # 2 * (1 + 10 + 45) / 1024
    assert r.delta_acc_ci_low < r.delta_acc < r.delta_acc_ci_high


def test_a_one_sided_flip_set_is_significant_and_its_ci_excludes_zero():
    pairs = [(True, True)] * 40 + [(False, True)] * 20 + [(False, False)] * 40
    r = paired_result(_rows(pairs), resamples=2000)
    assert r.mcnemar_p == pytest.approx(2 * 0.5**20)
    assert 0 < r.delta_acc_ci_low < 0.2 < r.delta_acc_ci_high < 0.35


def test_no_flips_means_p_one_and_a_zero_interval():
    base = np.array([1, 0, 1, 1, 0], dtype=float)
    assert mcnemar_exact_p(base, base) == 1.0
    assert paired_bootstrap_ci(base, base) == (0.0, 0.0)


def test_the_bootstrap_is_seeded_and_pairs_stay_together():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2, 200).astype(float)
    adapter = base.copy()
    adapter[:15] = 1 - adapter[:15]
    assert paired_bootstrap_ci(base, adapter, seed=3) == paired_bootstrap_ci(base, adapter, seed=3)
    # paired resampling: the width reflects the 15 flips, not two independent 200-question samples
    low, high = paired_bootstrap_ci(base, adapter)
    assert high - low < 0.12
    unpaired_width = 2 * 1.96 * math.sqrt(2 * 0.25 / 200)
    assert high - low < unpaired_width / 2


def test_flipped_rows_name_the_direction_and_skip_one_sided_rows():
    rows = _rows([(True, True), (False, True), (True, False)])
    rows.append({"question_id": "only-adapter", "base_is_correct": None, "adapter_is_correct": True})
    flips = flipped_rows(rows)
    assert [(f["question_id"], f["flip"]) for f in flips] == [("q1", "to_correct"), ("q2", "to_wrong")]
    assert flips[0]["base_choice"] == "B" and flips[0]["adapter_choice"] == "A"
    assert paired_result(rows[-1:]) is None


def test_the_bundled_sample_is_named_synthetic(compose):
    from sftlab.evaluation.stage import EvalSummary

    assert compose().eval.data.synthetic is True
    assert compose("eval=belebele_full").eval.data.synthetic is False
    line = EvalSummary(task="belebele_spa_Latn", adapter={"acc": 0.5}, synthetic=True).line()
    assert line.startswith("belebele_spa_Latn (SYNTHETIC sample, not the benchmark):")
    assert "SYNTHETIC" not in EvalSummary(task="belebele_spa_Latn", adapter={"acc": 0.5}).line()
