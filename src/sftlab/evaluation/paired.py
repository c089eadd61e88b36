"""Paired statistics of one task scored with and without the adapter on the same questions.

Both passes answer the same questions, so the honest comparison is paired: the questions the
adapter *flipped* carry all the information. From the joined per-question rows
(:func:`sftlab.evaluation.samples_table.combined_rows`) this module computes

* ``flips_to_correct`` / ``flips_to_wrong``: base wrong -> adapter right, and the reverse;
* ``mcnemar_p``: exact McNemar test on those discordant pairs (statsmodels), the standard test
  of "did the adapter change accuracy" on paired binary outcomes;
* ``delta_acc_ci_low`` / ``delta_acc_ci_high``: a seeded paired bootstrap (scipy) confidence
  interval of adapter accuracy minus base accuracy, resampling questions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLIP_COLUMNS = ["question_id", "passage", "question", "base_choice", "adapter_choice", "correct", "flip"]


@dataclass
class PairedResult:
    """The paired comparison of two passes over the same questions."""

    n: int
    flips_to_correct: int
    flips_to_wrong: int
    mcnemar_p: float
    delta_acc: float
    delta_acc_ci_low: float
    delta_acc_ci_high: float

    def metrics(self) -> dict[str, float]:
        """The MLflow metrics (names without the task prefix)."""
        return {
            "delta_acc_ci_low": self.delta_acc_ci_low,
            "delta_acc_ci_high": self.delta_acc_ci_high,
            "mcnemar_p": self.mcnemar_p,
            "flips_to_correct": float(self.flips_to_correct),
            "flips_to_wrong": float(self.flips_to_wrong),
        }


def paired_outcomes(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """``(base_correct, adapter_correct)`` as 0/1 arrays over the questions both sides answered."""
    both = [
        r for r in rows if r.get("base_is_correct") is not None and r.get("adapter_is_correct") is not None
    ]
    base = np.array([bool(r["base_is_correct"]) for r in both], dtype=float)
    adapter = np.array([bool(r["adapter_is_correct"]) for r in both], dtype=float)
    return base, adapter


def mcnemar_exact_p(base: np.ndarray, adapter: np.ndarray) -> float:
    """Exact (binomial) McNemar p-value of paired 0/1 outcomes; 1.0 when nothing flipped."""
    from statsmodels.stats.contingency_tables import mcnemar

    b, a = base.astype(bool), adapter.astype(bool)
    table = [[int(np.sum(b & a)), int(np.sum(b & ~a))], [int(np.sum(~b & a)), int(np.sum(~b & ~a))]]
    return float(mcnemar(table, exact=True).pvalue)


def paired_bootstrap_ci(
    base: np.ndarray, adapter: np.ndarray, confidence: float = 0.95, resamples: int = 10000, seed: int = 0
) -> tuple[float, float]:
    """Percentile CI of ``mean(adapter) - mean(base)``, resampling questions (pairs kept together).

    Percentile rather than scipy's default BCa: with 0/1 outcomes and few flips BCa's jackknife
    degenerates (NaN when no question flipped), while the percentile interval stays defined.
    """
    from scipy.stats import bootstrap

    if len(base) == 0:
        return float("nan"), float("nan")
    if np.array_equal(base, adapter):  # no flips: every resample's difference is exactly 0
        return 0.0, 0.0
    res = bootstrap(
        (adapter, base),
        lambda a, b, axis: np.mean(a, axis=axis) - np.mean(b, axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=resamples,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def paired_result(rows: list[dict], confidence: float = 0.95, resamples: int = 10000, seed: int = 0):
    """The :class:`PairedResult` of joined rows, or None when no question has both sides."""
    base, adapter = paired_outcomes(rows)
    if len(base) == 0:
        return None
    low, high = paired_bootstrap_ci(base, adapter, confidence, resamples, seed)
    return PairedResult(
        n=len(base),
        flips_to_correct=int(np.sum((base == 0) & (adapter == 1))),
        flips_to_wrong=int(np.sum((base == 1) & (adapter == 0))),
        mcnemar_p=mcnemar_exact_p(base, adapter),
        delta_acc=float(adapter.mean() - base.mean()),
        delta_acc_ci_low=low,
        delta_acc_ci_high=high,
    )


def flipped_rows(rows: list[dict]) -> list[dict]:
    """The questions whose correctness the adapter changed, with what a reader needs to judge them."""
    out = []
    for r in rows:
        b, a = r.get("base_is_correct"), r.get("adapter_is_correct")
        if b is None or a is None or bool(b) == bool(a):
            continue
        out.append(
            {
                "question_id": r.get("question_id"),
                "passage": r.get("passage"),
                "question": r.get("question"),
                "base_choice": r.get("base_choice"),
                "adapter_choice": r.get("adapter_choice"),
                "correct": r.get("correct"),
                "flip": "to_correct" if a else "to_wrong",
            }
        )
    return out
