"""Plots of a run, as PNG files (matplotlib's headless Agg backend)."""

from __future__ import annotations

import textwrap
from pathlib import Path


def loss_curve(log_history: list[dict], path: str | Path, title: str = "") -> Path | None:
    """Plot training (and eval) loss against the step; returns the PNG path, None if no loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(h["step"], h["loss"]) for h in log_history if "loss" in h and "step" in h]
    evals = [(h["step"], h["eval_loss"]) for h in log_history if "eval_loss" in h and "step" in h]
    if not train:
        return None
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot([s for s, _ in train], [v for _, v in train], marker="o", markersize=3, label="train loss")
    if evals:
        ax.plot([s for s, _ in evals], [v for _, v in evals], marker="s", linestyle="--", label="eval loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(textwrap.fill(title or "training loss", 60), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def paired_scores(metrics: dict[str, float]) -> list[dict]:
    """Every ``<task>/<m>`` that has a ``<task>/base_<m>``: one row per task and metric, with the
    stderr of each side and the paired interval of the difference when the run logged one."""
    rows = []
    for key in sorted(metrics):
        task, _, name = key.partition("/")
        if not name or name.startswith(("base_", "delta_", "eval_")) or "stderr" in name or "/" in name:
            continue
        base = metrics.get(f"{task}/base_{name}")
        if base is None:
            continue
        rows.append(
            {
                "task": task,
                "metric": name,
                "base": base,
                "adapter": metrics[key],
                "base_stderr": metrics.get(f"{task}/base_{name}_stderr"),
                "adapter_stderr": metrics.get(f"{task}/{name}_stderr"),
                "ci_low": metrics.get(f"{task}/delta_{name}_ci_low"),
                "ci_high": metrics.get(f"{task}/delta_{name}_ci_high"),
            }
        )
    return rows


def base_vs_adapter(metrics: dict[str, float], path: str | Path, title: str = "") -> Path | None:
    """Bars of the base model and the adapter side by side, for every evaluated task and metric
    (error bars: stderr); the difference, and its paired interval if logged, above each pair."""
    rows = paired_scores(metrics)
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 0.38
    xs = list(range(len(rows)))
    fig, ax = plt.subplots(figsize=(max(4.5, 1.9 * len(rows) + 1.5), 3.6), dpi=100)
    for offset, side, color in ((-width / 2, "base", "#9aa5b1"), (width / 2, "adapter", "#2b6cb0")):
        values = [r[side] for r in rows]
        errors = [r[f"{side}_stderr"] or 0.0 for r in rows]
        bars = ax.bar(
            [x + offset for x in xs], values, width, yerr=errors, capsize=3, color=color, label=side
        )
        ax.bar_label(bars, labels=[f"{v:.3f}" for v in values], padding=2, fontsize=8)
    top = max(max(r["base"], r["adapter"]) + (r["adapter_stderr"] or 0) for r in rows)
    for x, r in zip(xs, rows, strict=True):
        text = f"Δ {r['adapter'] - r['base']:+.3f}"
        if r["ci_low"] is not None and r["ci_high"] is not None:
            text += f"\n[{r['ci_low']:+.3f}, {r['ci_high']:+.3f}]"
        ax.text(x, top * 1.12 + 0.02, text, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(xs, [f"{r['task']}\n{r['metric']}" for r in rows], fontsize=9)
    ax.set_ylim(0, top * 1.35 + 0.08)
    ax.set_ylabel("score")
    ax.set_title(textwrap.fill(f"{title}: base vs adapter" if title else "base vs adapter", 60), fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
