"""Our runs beside the study's reported Tables 4, 5 and 6 (``assets/study/results.yaml``).

For every cell of the study's tables (a category or an evaluation, and one of the three models)
the comparison shows the study's number, ours, the difference and our 95 % confidence interval,
and whether the study's number lies inside it, so a reader sees at once whether a
reproduction lands inside the noise. Our value and interval:

* one run of the model: Table 5 from the run's lm-eval accuracy ± 1.96 standard errors, the
  with-minus-without change from the run's paired bootstrap (``delta_acc_ci_*``); Tables 4
  and 6 from a seeded bootstrap over the prompts' best-of-N scores (``judge/attempts.jsonl``);
* several runs of the model (seeds): their mean and a Student-t interval across runs.

Which run is which study model: its ``model`` tag (``llama2_7b_chat``, ``mistral_7b``,
``falcon_7b``), or ``compare_as`` (e.g. ``{tiny_llama: llama2_7b_chat}`` for a dry run).
Belebele runs scored on anything but the full 900-question benchmark (the bundled synthetic
sample, or ``eval.limit``) are never set beside Table 5; the comparison says they were left out.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

STUDY_MODELS = ("llama2_7b_chat", "mistral_7b", "falcon_7b")
TABLES = {
    "table4": ("Table 4: Spanish instructions (judge, 1-5)", "table4_spanish_instructions"),
    "table5": ("Table 5: Belebele spa_Latn accuracy", "table5_belebele_spa_Latn_accuracy"),
    "table6": ("Table 6: law instructions (people, 1-5)", "table6_law_instructions"),
}
Z95 = 1.959963984540054
SOURCE = "assets/study/results.yaml (the study's reported Tables 4-6; see assets/study/README.md)"


def study_results() -> dict:
    """The study's reported tables, as shipped with the package."""
    import yaml

    from sftlab.config.paths import asset_path

    return yaml.safe_load(Path(asset_path("study/results.yaml")).read_text(encoding="utf-8"))


def mean_ci(values: list[float], confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Mean and seeded percentile-bootstrap interval of item scores (nan interval below 2 items)."""
    from scipy.stats import bootstrap

    x = np.asarray([v for v in values if v is not None], dtype=float)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    if len(x) < 2 or np.all(x == x[0]):
        return (
            float(x.mean()),
            (float(x[0]) if len(x) > 1 else math.nan),
            (float(x[0]) if len(x) > 1 else math.nan),
        )
    res = bootstrap(
        (x,),
        np.mean,
        n_resamples=10000,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(x.mean()), float(res.confidence_interval.low), float(res.confidence_interval.high)


def mean_of_means_ci(groups: list[list[float]], confidence: float = 0.95, seed: int = 0):
    """The study's "average" row: the mean of the category means, with a stratified bootstrap
    interval (each category resampled on its own)."""
    from scipy.stats import bootstrap

    data = [np.asarray(g, dtype=float) for g in groups if len(g)]
    value = float(np.mean([g.mean() for g in data])) if data else math.nan
    if not data or any(len(g) < 2 for g in data) or all(np.all(g == g[0]) for g in data):
        return value, math.nan, math.nan

    def stat(*samples, axis=-1):
        return np.mean([np.mean(x, axis=axis) for x in samples], axis=0)

    res = bootstrap(
        tuple(data),
        stat,
        n_resamples=10000,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return value, float(res.confidence_interval.low), float(res.confidence_interval.high)


def across_runs(values: list[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean over replicate runs and its Student-t interval (nan interval for one run)."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return float(x.mean()) if len(x) else math.nan, math.nan, math.nan
    if np.all(x == x[0]):  # identical replicates: no spread to scale the interval by
        return float(x[0]), float(x[0]), float(x[0])
    low, high = stats.t.interval(confidence, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    return float(x.mean()), float(low), float(high)


def best_item_scores(rows: list[dict], suite: str, score_key: str = "score") -> dict[str, list[float]]:
    """``category -> [best-of-N score per item]`` of ``suite`` (items with no score left out)."""
    best: dict[tuple[str, str], float] = {}
    category: dict[tuple[str, str], str] = {}
    for row in rows:
        if row.get("suite") != suite:
            continue
        score = row.get(score_key)
        if score in (None, ""):
            continue
        key = (row["category"], str(row["item"]))
        category[key] = row["category"]
        best[key] = max(best.get(key, -math.inf), float(score))
    out: dict[str, list[float]] = {}
    for key, value in best.items():
        out.setdefault(category[key], []).append(value)
    return out


def _attempts(client, run_id: str) -> list[dict]:
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = client.download_artifacts(run_id, "judge/attempts.jsonl", tmp)
            return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    except Exception:  # no judging in this run
        return []


def comparable_belebele(run) -> bool:
    """Scored on the study's benchmark: the hub's 900 spa_Latn questions, no limit."""
    p = run.data.params
    return (
        run.data.tags.get("eval.synthetic") != "true"
        and p.get("eval.data.synthetic") != "True"
        and p.get("eval.task") == "belebele_spa_Latn"
        and p.get("eval.data.source") == "hub"
        and p.get("eval.limit") in (None, "None", "null", "")
    )


def _cell(values_per_run: list[tuple[float, float, float]]) -> tuple[float, float, float, int]:
    """(ours, low, high, runs) from per-run (value, low, high)."""
    values = [v for v, _, _ in values_per_run if v is not None and not math.isnan(v)]
    if not values:
        return math.nan, math.nan, math.nan, 0
    if len(values) == 1:
        value, low, high = values_per_run[0]
        return value, low, high, 1
    mean, low, high = across_runs(values)
    return mean, low, high, len(values)


def comparison(client, runs, compare_as: dict | None = None) -> tuple[list[dict], list[str]]:
    """One row per (table, row, model) that both the study and at least one run have, and notes."""
    study = study_results()
    mapping = {m: m for m in STUDY_MODELS} | dict(compare_as or {})
    by_model: dict[str, list] = {}
    for run in runs:
        key = mapping.get(run.data.tags.get("model", ""))
        if key in STUDY_MODELS:
            by_model.setdefault(key, []).append(run)
    notes = []
    per_run: dict[tuple[str, str, str], list[tuple[float, float, float]]] = {}

    def add(table, row, model, value, low, high):
        per_run.setdefault((table, row, model), []).append((value, low, high))

    for model, model_runs in by_model.items():
        left_out = [r for r in model_runs if not comparable_belebele(r) and "belebele/acc" in r.data.metrics]
        if left_out:
            notes.append(
                f"{model}: {len(left_out)} run(s) left out of Table 5: Belebele was not the full 900-question "
                "benchmark (bundled synthetic sample or eval.limit)"
            )
        for run in model_runs:
            m = run.data.metrics
            if comparable_belebele(run):
                for row, acc, se in (
                    ("without_lora", "belebele/base_acc", "belebele/base_acc_stderr"),
                    ("with_lora", "belebele/acc", "belebele/acc_stderr"),
                ):
                    if acc in m:
                        s = m.get(se, math.nan)
                        add("table5", row, model, m[acc], m[acc] - Z95 * s, m[acc] + Z95 * s)
                if "belebele/delta_acc" in m:
                    add(
                        "table5",
                        "change",
                        model,
                        m["belebele/delta_acc"],
                        m.get("belebele/delta_acc_ci_low", math.nan),
                        m.get("belebele/delta_acc_ci_high", math.nan),
                    )
            rows = (
                _attempts(client, run.info.run_id)
                if any(k.startswith(("judge/", "human/")) for k in m)
                else []
            )
            for table, suite, score_key in (
                ("table4", "general_es", "score"),
                ("table6", "law_ec", "human_score"),
            ):
                scores = best_item_scores(rows, suite, score_key)
                for category, values in scores.items():
                    add(table, category, model, *mean_ci(values))
                if table == "table4" and scores:
                    add(table, "average", model, *mean_of_means_ci(list(scores.values())))

    out = []
    for table, (title, key) in TABLES.items():
        reported = dict(study[key])
        if table == "table5":
            reported["change"] = {
                m: round(reported["with_lora"][m] - reported["without_lora"][m], 4) for m in STUDY_MODELS
            }
        for row, values in reported.items():
            for model in STUDY_MODELS:
                cells = per_run.get((table, row, model))
                if not cells:
                    continue
                ours, low, high, n = _cell(cells)
                theirs = values[model]
                inside = "" if math.isnan(low) else ("yes" if low <= theirs <= high else "no")
                out.append(
                    {
                        "table": table,
                        "title": title,
                        "row": row,
                        "model": model,
                        "study": theirs,
                        "ours": ours,
                        "diff": ours - theirs,
                        "ci_low": low,
                        "ci_high": high,
                        "inside": inside,
                        "runs": n,
                    }
                )
    return out, notes


def _num(value: float, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _ci(row: dict) -> str:
    if math.isnan(row["ci_low"]):
        return "–"
    return f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def comparison_frame(rows: list[dict], table: str):
    """One study table as a DataFrame: a row per category, per model the study, ours, diff, CI."""
    import pandas as pd

    subset = [r for r in rows if r["table"] == table]
    models = [m for m in STUDY_MODELS if any(r["model"] == m for r in subset)]
    order = list(dict.fromkeys(r["row"] for r in subset))
    columns = pd.MultiIndex.from_product([models, ["study", "ours", "diff", "95% CI", "inside"]])
    frame = pd.DataFrame(index=pd.Index(order, name="row"), columns=columns, dtype=object)
    for r in subset:
        frame.loc[r["row"], (r["model"], "study")] = _num(r["study"])
        frame.loc[r["row"], (r["model"], "ours")] = _num(r["ours"]) + (
            f" (n={r['runs']})" if r["runs"] > 1 else ""
        )
        frame.loc[r["row"], (r["model"], "diff")] = f"{r['diff']:+.3f}"
        frame.loc[r["row"], (r["model"], "95% CI")] = _ci(r)
        frame.loc[r["row"], (r["model"], "inside")] = r["inside"] or "–"
    return frame.fillna("")


def markdown(rows: list[dict], notes: list[str]) -> str:
    """The comparison as Markdown: one table per study table present."""
    lines = [
        "# Our runs beside the study",
        "",
        f"Study numbers: {SOURCE}.",
        "`inside`: the study's number lies inside our 95 % interval.",
        "",
    ]
    for table, (title, _) in TABLES.items():
        frame = comparison_frame(rows, table)
        if frame.empty:
            lines += [f"## {title}", "", "No run to compare.", ""]
            continue
        header = ["row"] + [f"{m} {c}" for m, c in frame.columns]
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name, values in frame.iterrows():
            lines.append("| " + " | ".join([str(name), *map(str, values.tolist())]) + " |")
        lines.append("")
    if notes:
        lines += ["## Notes", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def latex(rows: list[dict]) -> str:
    """The comparison as LaTeX tables with booktabs rules (\\toprule, \\midrule, \\bottomrule)."""
    parts = ["% needs \\usepackage{booktabs}; generated by sftlab report from " + SOURCE]
    for table, (title, _) in TABLES.items():
        frame = comparison_frame(rows, table)
        if frame.empty:
            continue
        body = frame.style.to_latex(
            hrules=True, multicol_align="c", column_format="l" + "r" * len(frame.columns)
        )
        body = body.replace("%", "\\%").replace("_", "\\_")
        parts.append(
            "\\begin{table}[ht]\n\\centering\n\\caption{"
            + title.replace("_", "\\_")
            + "}\n"
            + body
            + "\\end{table}"
        )
    return "\n\n".join(parts) + "\n"


def figure(rows: list[dict], path: Path) -> Path | None:
    """Study (x) vs ours (y) per cell, our 95 % interval as whiskers, the identity line."""
    if not rows:
        return None
    from sftlab.report.charts import pyplot, save

    plt = pyplot()
    panels = [(t, title) for t, (title, _) in TABLES.items() if any(r["table"] == t for r in rows)]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(5 * len(panels), 4.6), dpi=110, squeeze=False, layout="constrained"
    )
    markers = dict(zip(STUDY_MODELS, "osD", strict=True))
    for ax, (table, title) in zip(axes[0], panels, strict=True):
        subset = [r for r in rows if r["table"] == table]
        for model in STUDY_MODELS:
            pts = [r for r in subset if r["model"] == model]
            if not pts:
                continue
            x = [r["study"] for r in pts]
            y = [r["ours"] for r in pts]
            err = [
                [max(0.0, r["ours"] - r["ci_low"]) if not math.isnan(r["ci_low"]) else 0 for r in pts],
                [max(0.0, r["ci_high"] - r["ours"]) if not math.isnan(r["ci_high"]) else 0 for r in pts],
            ]
            ax.errorbar(x, y, yerr=err, fmt=markers[model], capsize=3, label=model)
            for r in pts:
                ax.annotate(
                    r["row"], (r["study"], r["ours"]), fontsize=7, xytext=(3, 3), textcoords="offset points"
                )
        values = [
            v for r in subset for v in (r["study"], r["ours"], r["ci_low"], r["ci_high"]) if not math.isnan(v)
        ]
        lo, hi = min(values), max(values)
        pad = 0.05 * (hi - lo or 1)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "--", color="grey", linewidth=1)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("study")
        ax.set_ylabel("ours (95 % CI)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save(fig, path)


def write_comparison(client, runs, out: Path, compare_as: dict | None = None) -> tuple[list[Path], list[str]]:
    """Write ``study_comparison.{md,tex,csv,png}`` into ``out``; returns the files and the notes."""
    from sftlab.track.tables import rows_to_csv

    rows, notes = comparison(client, runs, compare_as)
    if not rows:
        return [], notes + [
            "study comparison: no comparable run (a run of llama2_7b_chat, mistral_7b or "
            "falcon_7b, or mapped by compare_as, with Belebele on the full 900-question "
            "benchmark or with judge/people scores)"
        ]
    out = Path(out)
    files = [out / "study_comparison.md", out / "study_comparison.tex", out / "study_comparison.csv"]
    files[0].write_text(markdown(rows, notes))
    files[1].write_text(latex(rows))
    columns = ["table", "row", "model", "study", "ours", "diff", "ci_low", "ci_high", "inside", "runs"]
    files[2].write_text(rows_to_csv(rows, columns))
    png = figure(rows, out / "study_comparison.png")
    if png:
        files.append(png)
    return files, notes
