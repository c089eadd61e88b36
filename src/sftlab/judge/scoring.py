"""From graded attempts to the study's numbers: best-of-N, means, agreement, markdown tables.

Rows are the answer rows of :mod:`sftlab.generate.methods` with score columns added (``score`` for
the run's judge, ``human_score`` for people). A missing score (None) never counts as a number:
an item whose attempts all lack a score is left out of the means and counted as missing.
"""

from __future__ import annotations

import math
from collections import defaultdict


def _valid(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def best_of_n(rows: list[dict], score_key: str = "score") -> dict[tuple[str, str], dict]:
    """``(suite, item) -> {"category", "best", "attempt", "attempts", "graded"}`` (best None if none graded)."""
    out: dict[tuple[str, str], dict] = {}
    for row in rows:
        entry = out.setdefault(
            (row["suite"], row["item"]),
            {"category": row["category"], "best": None, "attempt": None, "attempts": 0, "graded": 0},
        )
        entry["attempts"] += 1
        score = row.get(score_key)
        if _valid(score):
            entry["graded"] += 1
            if entry["best"] is None or score > entry["best"]:
                entry["best"], entry["attempt"] = score, row["attempt"]
    return out


def summarize(rows: list[dict], score_key: str = "score") -> dict[str, dict]:
    """Per suite: ``{"categories": {cat: {"mean", "items", "missing"}}, "mean", "items", "missing"}``.

    The mean of a category is over its items' best-of-N scores; the suite mean is over all its
    items (so a category with more items weighs more, as in a pooled average). ``mean`` is NaN
    when nothing in that group was graded.
    """
    per_suite: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for (suite, _item), entry in best_of_n(rows, score_key).items():
        per_suite[suite][entry["category"]].append(entry["best"])
    summary: dict[str, dict] = {}
    for suite, cats in per_suite.items():
        cat_out = {}
        pooled = []
        for cat, bests in cats.items():
            graded = [b for b in bests if b is not None]
            pooled += graded
            cat_out[cat] = {
                "mean": sum(graded) / len(graded) if graded else math.nan,
                "items": len(bests),
                "missing": len(bests) - len(graded),
            }
        summary[suite] = {
            "categories": cat_out,
            "mean": sum(pooled) / len(pooled) if pooled else math.nan,
            "items": sum(c["items"] for c in cat_out.values()),
            "missing": sum(c["missing"] for c in cat_out.values()),
        }
    return summary


def summary_metrics(summary: dict[str, dict], prefix: str) -> dict[str, float]:
    """MLflow metrics ``<prefix>/<suite>/<category>``, ``<prefix>/<suite>/mean`` and missing counts.

    Means that are NaN (nothing graded) are left out rather than logged as a number.
    """
    metrics: dict[str, float] = {}
    for suite, s in summary.items():
        for cat, c in s["categories"].items():
            if not math.isnan(c["mean"]):
                metrics[f"{prefix}/{suite}/{cat}"] = c["mean"]
        if not math.isnan(s["mean"]):
            metrics[f"{prefix}/{suite}/mean"] = s["mean"]
        metrics[f"{prefix}/{suite}/missing_items"] = float(s["missing"])
    return metrics


def agreement(rows: list[dict], key_a: str, key_b: str) -> dict:
    """Agreement of two judges on the attempts both graded: exact share and mean |a - b|."""
    pairs = [(r[key_a], r[key_b]) for r in rows if _valid(r.get(key_a)) and _valid(r.get(key_b))]
    if not pairs:
        return {"n": 0, "exact": math.nan, "mean_abs_diff": math.nan}
    return {
        "n": len(pairs),
        "exact": sum(a == b for a, b in pairs) / len(pairs),
        "mean_abs_diff": sum(abs(a - b) for a, b in pairs) / len(pairs),
    }


def _fmt(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.2f}"


def markdown_tables(
    results: dict[str, dict[str, dict]], title: str = "Rubric scores (1–5), best of N"
) -> str:
    """Markdown tables laid out like the study's Tables 4 and 6: one per suite, a row per
    model/judge, a column per category and the suite mean. ``results`` maps a row label to a
    :func:`summarize` result."""
    suites: dict[str, list[str]] = {}
    for summary in results.values():
        for suite, s in summary.items():
            cats = suites.setdefault(suite, [])
            cats += [c for c in s["categories"] if c not in cats]
    lines = [f"# {title}", ""]
    for suite, cats in suites.items():
        lines += [f"## {suite}", ""]
        lines.append("| Model (judge) | " + " | ".join(c.capitalize() for c in cats) + " | Mean | Missing |")
        lines.append("|---|" + "---:|" * (len(cats) + 2))
        for label, summary in results.items():
            s = summary.get(suite)
            if s is None:
                continue
            values = [_fmt(s["categories"].get(c, {}).get("mean", math.nan)) for c in cats]
            lines.append(
                f"| {label} | " + " | ".join(values) + f" | {_fmt(s['mean'])} | {s['missing']}/{s['items']} |"
            )
        lines.append("")
    return "\n".join(lines)


def agreement_markdown(stats: dict, a: str, b: str) -> str:
    """A short markdown section with the agreement of judges ``a`` and ``b``."""
    return (
        f"## Agreement: {a} vs {b}\n\n"
        f"| attempts graded by both | exact agreement | mean abs. difference |\n|---:|---:|---:|\n"
        f"| {stats['n']} | {_fmt(stats['exact'])} | {_fmt(stats['mean_abs_diff'])} |\n"
    )


def generation_stats(rows: list[dict]) -> dict[str, float]:
    """Per suite, how answers ended and how long they were (attempts generated here, not the
    repeated deterministic ones): ``generation/<suite>/{eos_rate,max_tokens_rate,answer_tokens_mean,
    answer_tokens_median,answer_tokens_p90,answers}``."""
    import numpy as np

    per_suite: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if "stopped_by" in row and not str(row.get("note", "")).startswith("deterministic"):
            per_suite[row["suite"]].append(row)
    out: dict[str, float] = {}
    for suite, items in per_suite.items():
        tokens = np.array([r.get("answer_tokens", r.get("new_tokens", 0)) for r in items], dtype=float)
        p = f"generation/{suite}"
        out[f"{p}/answers"] = float(len(items))
        out[f"{p}/eos_rate"] = sum(r["stopped_by"] == "eos" for r in items) / len(items)
        out[f"{p}/max_tokens_rate"] = sum(r["stopped_by"] == "max_new_tokens" for r in items) / len(items)
        out[f"{p}/answer_tokens_mean"] = float(tokens.mean())
        out[f"{p}/answer_tokens_median"] = float(np.median(tokens))
        out[f"{p}/answer_tokens_p90"] = float(np.percentile(tokens, 90))
    return out
