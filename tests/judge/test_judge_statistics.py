"""Agreement of two graders (quadratic kappa, Spearman, bootstrap intervals) on known tables."""

from __future__ import annotations

import pytest

from sftlab.judge.statistics import agreement_stats


def _rows(a, b):
    return [{"score": x, "human_score": y} for x, y in zip(a, b, strict=True)]


def test_perfect_and_reversed_agreement():
    same = agreement_stats(_rows([1, 2, 3, 4, 5] * 4, [1, 2, 3, 4, 5] * 4), "score", "human_score")
    assert (
        same["n"] == 20
        and same["kappa_quadratic"] == pytest.approx(1.0)
        and same["spearman"] == pytest.approx(1.0)
    )
    assert same["kappa_ci_low"] == pytest.approx(1.0)
    rev = agreement_stats(_rows([1, 2, 3, 4, 5] * 4, [5, 4, 3, 2, 1] * 4), "score", "human_score")
    assert rev["kappa_quadratic"] == pytest.approx(-1.0) and rev["spearman"] == pytest.approx(-1.0)


def test_near_misses_cost_less_than_far_misses_and_intervals_bracket_the_estimate():
    judge = [1, 2, 3, 4, 5, 3, 4, 2, 5, 1, 3, 4]
    near = agreement_stats(_rows(judge, [min(5, s + 1) for s in judge]), "score", "human_score")
    far = agreement_stats(_rows(judge, [6 - s for s in judge]), "score", "human_score")
    assert near["kappa_quadratic"] > 0.6 > far["kappa_quadratic"]
    assert near["kappa_ci_low"] <= near["kappa_quadratic"] <= near["kappa_ci_high"]
    assert near["spearman_ci_low"] <= near["spearman"] <= near["spearman_ci_high"]
    again = agreement_stats(_rows(judge, [min(5, s + 1) for s in judge]), "score", "human_score")
    assert again == near  # seeded
    missing = agreement_stats([{"score": 3, "human_score": None}], "score", "human_score")
    assert missing["n"] == 0


def test_generation_stop_rate_and_lengths_per_suite():
    from sftlab.judge.scoring import generation_stats

    rows = [
        {"suite": "general_es", "stopped_by": "eos", "answer_tokens": 10, "note": ""},
        {"suite": "general_es", "stopped_by": "max_new_tokens", "answer_tokens": 256, "note": ""},
        {"suite": "general_es", "stopped_by": "max_new_tokens", "answer_tokens": 256, "note": ""},
        {
            "suite": "general_es",
            "stopped_by": "eos",
            "answer_tokens": 10,
            "note": "deterministic method: same",
        },
        {"suite": "law_ec", "stopped_by": "eos", "answer_tokens": 20, "note": ""},
        {"suite": "law_ec", "answer": "an old row without stop information"},
    ]
    m = generation_stats(rows)
    assert m["generation/general_es/answers"] == 3  # repeated deterministic attempts are not counted
    assert m["generation/general_es/eos_rate"] == pytest.approx(1 / 3)
    assert m["generation/general_es/max_tokens_rate"] == pytest.approx(2 / 3)
    assert m["generation/general_es/answer_tokens_median"] == 256
    assert m["generation/law_ec/eos_rate"] == 1.0 and m["generation/law_ec/answers"] == 1


def test_resampled_kappa_and_spearman_equal_sklearn_and_scipy_row_by_row():
    """The bootstrap computes every resample in one array pass; each row must equal the library's value."""
    import numpy as np

    from sftlab.judge.statistics import _kappa, _kappa_rows, _spearman, _spearman_rows

    rng = np.random.default_rng(3)
    a = rng.integers(1, 6, (200, 12))
    b = np.clip(a + rng.integers(-2, 3, (200, 12)), 1, 5)
    a[0], b[0] = 3, 3  # one grade from both: kappa and rho undefined
    a[1], b[1] = 3, 4  # constant but different: kappa 0, rho undefined
    kappas, rhos = _kappa_rows(a, b), _spearman_rows(a, b)
    for i in range(len(a)):
        assert kappas[i] == pytest.approx(_kappa(a[i].tolist(), b[i].tolist()), nan_ok=True, abs=1e-12)
        assert rhos[i] == pytest.approx(_spearman(a[i].tolist(), b[i].tolist()), nan_ok=True, abs=1e-12)
    assert np.isnan(kappas[0]) and kappas[1] == 0 and np.isnan(rhos[1])
