"""Figures for the report: grouped bar charts a paper can print (matplotlib, Agg backend).

A bar chart draws each series side by side per group, with 95 % confidence whiskers
(±1.96 standard errors) where errors are given, the value above each bar, an optional dashed
chance line, and the legend *outside* the axes (to their right), so it never hides a bar.
Group labels may hold line breaks ("model\\nr=8"); they are drawn horizontally.
"""

from __future__ import annotations

from pathlib import Path

Z95 = 1.96  # normal quantile of a two-sided 95 % interval


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_chart(
    groups: list[str],
    series: dict[str, list[float | None]],
    ylabel: str,
    title: str,
    errors: dict[str, list[float | None]] | None = None,
    chance: float | None = None,
    ylim: tuple[float, float] | None = None,
):
    """The figure (see the module doc); ``errors`` are standard errors, drawn as 95 % whiskers."""
    plt = pyplot()
    n = max(1, len(series))
    width = 0.8 / n
    fig, ax = plt.subplots(
        figsize=(max(6.0, 1.1 * len(groups) * max(1, n) / 2 + 3.5), 4.8), dpi=110, layout="constrained"
    )
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(groups))]
        heights = [v if v is not None else 0.0 for v in values]
        se = (errors or {}).get(name)
        yerr = [Z95 * e if e is not None else 0.0 for e in se] if se else None
        bars = ax.bar(xs, heights, width, label=name, yerr=yerr, capsize=3 if yerr else 0)
        for j, (bar, v) in enumerate(zip(bars, values, strict=True)):
            if v is not None:
                top = v + (yerr[j] if yerr else 0.0)
                ax.annotate(
                    f"{v:.3f}",
                    (bar.get_x() + bar.get_width() / 2, top),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
    if chance is not None:
        ax.axhline(chance, color="0.35", linestyle="--", linewidth=1, label=f"chance ({chance:g})")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if ylim:
        ax.set_ylim(*ylim)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    return fig


def save(fig, path: Path) -> Path:
    """Write ``fig`` as PNG and release it."""
    fig.savefig(path)
    pyplot().close(fig)
    return path
