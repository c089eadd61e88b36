"""Agreement of two graders of rubric scores (judge vs people, judge vs judge).

On the attempts both graded: quadratic-weighted Cohen's kappa (scikit-learn; the usual measure
for ordinal 1-5 scales: a 4 vs 5 disagreement costs less than 1 vs 5) and Spearman's rho
(scipy), each with a seeded paired bootstrap 95 % interval over attempts. Base vs adapter per
category is in :mod:`sftlab.report.judge_paired` (it pairs two runs).
"""

from __future__ import annotations

import math

import numpy as np

RESAMPLES = 2000  # kappa is recomputed per resample; 2000 keeps this under a second for ~100 pairs


def _kappa(a, b) -> float:
    from sklearn.metrics import cohen_kappa_score

    if len(set(a) | set(b)) < 2:
        return math.nan
    return float(cohen_kappa_score(a, b, weights="quadratic", labels=[1, 2, 3, 4, 5]))


def _spearman(a, b) -> float:
    from scipy.stats import spearmanr

    if len(set(a)) < 2 or len(set(b)) < 2:
        return math.nan
    return float(spearmanr(a, b).statistic)


def _paired_ci(a, b, fn, confidence: float, seed: int) -> tuple[float, float]:
    """Percentile bootstrap interval of ``fn(a, b)`` resampling pairs; resamples where ``fn`` is
    undefined (all scores equal) are dropped."""
    rng = np.random.default_rng(seed)
    a, b = np.asarray(a), np.asarray(b)
    values = []
    for _ in range(RESAMPLES):
        idx = rng.integers(0, len(a), len(a))
        v = fn(a[idx].tolist(), b[idx].tolist())
        if not math.isnan(v):
            values.append(v)
    if len(values) < RESAMPLES // 2:
        return math.nan, math.nan
    tail = (1 - confidence) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def agreement_stats(
    rows: list[dict], key_a: str, key_b: str, confidence: float = 0.95, seed: int = 0
) -> dict:
    """Kappa (quadratic) and Spearman with bootstrap intervals on the attempts both graded."""
    pairs = [
        (int(r[key_a]), int(r[key_b])) for r in rows if r.get(key_a) is not None and r.get(key_b) is not None
    ]
    out = {"n": len(pairs)}
    if len(pairs) < 2:
        return out | {
            k: math.nan
            for k in (
                "kappa_quadratic",
                "kappa_ci_low",
                "kappa_ci_high",
                "spearman",
                "spearman_ci_low",
                "spearman_ci_high",
            )
        }
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    k_low, k_high = _paired_ci(a, b, _kappa, confidence, seed)
    s_low, s_high = _paired_ci(a, b, _spearman, confidence, seed)
    return out | {
        "kappa_quadratic": _kappa(a, b),
        "kappa_ci_low": k_low,
        "kappa_ci_high": k_high,
        "spearman": _spearman(a, b),
        "spearman_ci_low": s_low,
        "spearman_ci_high": s_high,
    }
