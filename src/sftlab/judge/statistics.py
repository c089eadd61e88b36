"""Agreement of two graders of rubric scores (judge vs people, judge vs judge).

On the attempts both graded: quadratic-weighted Cohen's kappa (scikit-learn; the usual measure
for ordinal 1-5 scales: a 4 vs 5 disagreement costs less than 1 vs 5) and Spearman's rho
(scipy), each with a seeded paired bootstrap 95 % interval over attempts. Base vs adapter per
category is in :mod:`sftlab.report.judge_paired` (it pairs two runs).
"""

from __future__ import annotations

import math

import numpy as np

RESAMPLES = 2000  # all resamples in one array pass: milliseconds for hundreds of pairs


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


def _kappa_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Quadratic-weighted kappa of each row pair of ``a`` and ``b`` (shape ``(resamples, n)``).

    With quadratic weights kappa has a closed form: observed disagreement ``mean((a-b)^2)`` over the
    disagreement expected from the marginals ``var(a) + var(b) + (mean(a)-mean(b))^2`` (population
    moments), so thousands of resamples cost one array expression instead of thousands of
    ``cohen_kappa_score`` calls. Rows where both graders gave one and the same score are undefined (nan).
    """
    a, b = a.astype(float), b.astype(float)
    observed = ((a - b) ** 2).mean(axis=1)
    expected = a.var(axis=1) + b.var(axis=1) + (a.mean(axis=1) - b.mean(axis=1)) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(expected > 0, 1 - observed / expected, np.nan)


def _spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row pair (Pearson of average ranks, as scipy computes it); nan where a
    row is constant."""
    from scipy.stats import rankdata

    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra, rb = ra - ra.mean(axis=1, keepdims=True), rb - rb.mean(axis=1, keepdims=True)
    denom = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (ra * rb).sum(axis=1) / denom, np.nan)


def _paired_ci(a, b, rows_fn, confidence: float, seed: int) -> tuple[float, float]:
    """Percentile bootstrap interval of a statistic resampling pairs (all resamples at once, seeded);
    resamples where it is undefined (all scores equal) are dropped."""
    rng = np.random.default_rng(seed)
    a, b = np.asarray(a), np.asarray(b)
    idx = rng.integers(0, len(a), (RESAMPLES, len(a)))
    values = rows_fn(a[idx], b[idx])
    values = values[~np.isnan(values)]
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
    k_low, k_high = _paired_ci(a, b, _kappa_rows, confidence, seed)
    s_low, s_high = _paired_ci(a, b, _spearman_rows, confidence, seed)
    return out | {
        "kappa_quadratic": _kappa(a, b),
        "kappa_ci_low": k_low,
        "kappa_ci_high": k_high,
        "spearman": _spearman(a, b),
        "spearman_ci_low": s_low,
        "spearman_ci_high": s_high,
    }
