"""Judge scores of the adapter vs its base model on the same prompts, per category.

A training run with judging holds the adapter's answers' scores (``judge/attempts.jsonl``);
``sftlab judge model=<same model>`` without an adapter gives the base model's, in a run tagged
``sftlab.stage=judge``. The report pairs them by prompt (suite, item), takes each side's
best-of-N score, and per category gives both means with seeded bootstrap 95 % intervals and
Wilcoxon's signed-rank test (scipy) of the paired differences.
"""

from __future__ import annotations

import math

import numpy as np

from sftlab.report.study import _attempts, mean_ci

COLUMNS = [
    "model",
    "run",
    "suite",
    "category",
    "items",
    "base_mean",
    "adapter_mean",
    "difference",
    "wilcoxon_p",
]


def best_by_item(rows: list[dict], score_key: str = "score") -> dict[tuple[str, str], dict[str, float]]:
    """``(suite, category) -> {item: best-of-N score}`` (unscored attempts ignored)."""
    out: dict[tuple[str, str], dict[str, float]] = {}
    for row in rows:
        score = row.get(score_key)
        if score in (None, ""):
            continue
        cell = out.setdefault((row["suite"], row["category"]), {})
        item = str(row["item"])
        cell[item] = max(cell.get(item, -math.inf), float(score))
    return out


def paired_category_tests(base: dict, adapter: dict) -> dict:
    """Per category, Wilcoxon signed-rank on the items both have: ``{category: {n, base_mean,
    adapter_mean, wilcoxon_p, base_ci, adapter_ci}}``. ``base``/``adapter``: ``category -> {item: best score}``."""
    from scipy.stats import wilcoxon

    out = {}
    for category in sorted(base.keys() & adapter.keys()):
        items = sorted(base[category].keys() & adapter[category].keys())
        x = np.array([base[category][i] for i in items], dtype=float)
        y = np.array([adapter[category][i] for i in items], dtype=float)
        p = math.nan
        if len(items) >= 1 and np.any(x != y):
            p = float(wilcoxon(y, x, zero_method="wilcox").pvalue)
        elif len(items):
            p = 1.0  # identical scores: nothing changed
        out[category] = {
            "n": len(items),
            "base_mean": float(x.mean()) if len(x) else math.nan,
            "adapter_mean": float(y.mean()) if len(y) else math.nan,
            "wilcoxon_p": p,
            "base_ci": mean_ci(x.tolist())[1:],
            "adapter_ci": mean_ci(y.tolist())[1:],
        }
    return out


def _fmt(mean: float, ci: tuple[float, float]) -> str:
    if math.isnan(mean):
        return ""
    return f"{mean:.2f}" + ("" if math.isnan(ci[0]) else f" [{ci[0]:.2f}, {ci[1]:.2f}]")


def paired_judge_rows(client, runs, labels: dict[str, str]) -> list[dict]:
    """Rows for every training run with judge scores whose model has a base-model judge run."""
    base_runs = {}
    for run in runs:
        tags = run.data.tags
        if (
            tags.get("sftlab.stage") == "judge"
            and not tags.get("sftlab.adapter_run_id")
            and not tags.get("sftlab.adapter_path")
        ):
            base_runs.setdefault(tags.get("model", ""), run)  # the earliest one
    out = []
    for run in runs:
        tags = run.data.tags
        base = base_runs.get(tags.get("model", ""))
        if base is None or run is base or not any(k.startswith("judge/") for k in run.data.metrics):
            continue
        base_best, adapter_best = (
            best_by_item(_attempts(client, base.info.run_id)),
            best_by_item(_attempts(client, run.info.run_id)),
        )
        for suite in sorted({s for s, _ in adapter_best} & {s for s, _ in base_best}):
            tests = paired_category_tests(
                {c: v for (s, c), v in base_best.items() if s == suite},
                {c: v for (s, c), v in adapter_best.items() if s == suite},
            )
            for category, t in tests.items():
                out.append(
                    {
                        "model": tags.get("model", ""),
                        "run": labels.get(run.info.run_id, run.info.run_id),
                        "suite": suite,
                        "category": category,
                        "items": t["n"],
                        "base_mean": _fmt(t["base_mean"], t["base_ci"]),
                        "adapter_mean": _fmt(t["adapter_mean"], t["adapter_ci"]),
                        "difference": f"{t['adapter_mean'] - t['base_mean']:+.2f}",
                        "wilcoxon_p": "" if math.isnan(t["wilcoxon_p"]) else f"{t['wilcoxon_p']:.3g}",
                    }
                )
    return out
