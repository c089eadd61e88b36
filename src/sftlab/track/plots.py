"""Plots of a run, as PNG files (matplotlib's headless Agg backend)."""

from __future__ import annotations

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
    ax.set_title(title or "training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
