"""The study's comparison report from MLflow: markdown + CSV tables and PNG plots.

Reads the FINISHED training runs of an experiment (or of one sweep: the parent's children
plus the earlier runs a resumed sweep reused) and writes, into one folder:

* ``runs.md/.csv``      every run: model, status, LoRA rank, learning rate, losses
* ``belebele.md/.csv``  per model and run: Belebele accuracy without / with the adapter
* ``judge.md/.csv``     judge scores per suite and category (``judge/<suite>/<category>``)
* ``loss_curves.png``   training loss overlaid per model; ``belebele.png``, ``judge.png`` bars
* ``report.md``         all tables, the plots, and which metrics no run has

It works on whatever metrics the runs have: a table or plot whose metrics are missing is
left out and named in ``report.md``. With a sweep, everything is also logged to the parent
run under ``report/``.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from sftlab.config.errors import TrackingError
from sftlab.track.metric_names import EVAL_LOSS, FINAL_LOSS, LOSS
from sftlab.track.naming import OVERRIDES_TAG
from sftlab.track.sweep_info import read_sweep_info
from sftlab.track.tables import rows_to_csv, rows_to_markdown
from sftlab.track.tracker import mlflow_client

log = logging.getLogger(__name__)

# Belebele accuracy keys: `belebele/acc` is the adapter's; a key that also names `base`
# (`belebele/base_acc`, `belebele_base/acc`, `belebele/acc_base`) is the base model's.
BELEBELE_KEY = re.compile(r"(^|/)belebele[^ ]*acc", re.IGNORECASE)
JUDGE_PREFIX = "judge/"
RUN_COLUMNS = ["model", "run_name", "status", "lora.r", "learning_rate", "final_loss", "eval_loss", "run_id"]


@dataclass
class Report:
    """What :func:`write_report` produced."""

    out_dir: Path
    files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    runs: int = 0


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def resolve_sweep(client, experiment_id: str, sweep: str) -> str:
    """A parent run id from ``latest``, a run id, or a sweep folder (its ``.sftlab/sweep.json``)."""
    if sweep == "latest":
        runs = client.search_runs(
            [experiment_id],
            filter_string="tags.`sftlab.stage` = 'sweep'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if not runs:
            raise TrackingError("sweep=latest: the experiment has no sweep (run `sftlab train -m ...`)")
        return runs[0].info.run_id
    if Path(sweep).is_dir():
        info = read_sweep_info(sweep)
        if not info:
            raise TrackingError(f"sweep: {sweep} is not a sweep folder (no .sftlab/sweep.json)")
        return info["parent_run_id"]
    return sweep


def collect_runs(client, experiment_id: str, parent_run_id: str | None = None) -> list:
    """Training runs of the experiment, or of one sweep (children + reused earlier runs)."""
    if parent_run_id is None:
        runs = client.search_runs([experiment_id], max_results=10000, order_by=["attributes.start_time ASC"])
        return [r for r in runs if r.data.tags.get("sftlab.stage") != "sweep"]
    parent = client.get_run(parent_run_id)
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'",
        order_by=["attributes.start_time ASC"],
        max_results=10000,
    )
    seen = {r.info.run_id for r in runs}
    for key, run_id in sorted(parent.data.tags.items()):
        if key.startswith("sweep.reused.") and run_id not in seen:
            try:
                runs.append(client.get_run(run_id))
                seen.add(run_id)
            except Exception:
                log.warning("reused run %s no longer exists", run_id)
    return runs


def _overrides_of(run) -> str:
    """The run's command-line overrides (tag), or its name for runs recorded before the tag."""
    tags = run.data.tags
    if OVERRIDES_TAG in tags:
        return tags[OVERRIDES_TAG] or f"model={tags.get('model', run.info.run_id[:8])}"
    return run.info.run_name or run.info.run_id[:8]


def short_labels(runs) -> dict[str, str]:
    """Run names without the ``key=value`` parts every run shares, nor ``model=`` (shown beside
    every label): ``lora.r=8,model=x,training.max_steps=2`` -> ``lora.r=8``."""
    parts = {r.info.run_id: _overrides_of(r).split(",") for r in runs}
    common = set.intersection(*(set(p) for p in parts.values())) if parts else set()
    labels = {}
    for run_id, pieces in parts.items():
        kept = [p for p in pieces if p not in common and not p.startswith("model=")]
        model = [p.split("=", 1)[1] for p in pieces if p.startswith("model=")]
        labels[run_id] = ",".join(kept) or (model[0] if model else ",".join(pieces))
    return labels


def belebele_rows(runs) -> list[dict]:
    """Per run: Belebele accuracy of the base model and with the adapter, and the difference."""
    rows = []
    for run in runs:
        base = adapter = None
        for key, value in run.data.metrics.items():
            if not BELEBELE_KEY.search(key) or "stderr" in key:
                continue
            if "base" in key.lower():
                base = value
            elif adapter is None or key.lower().endswith("/acc"):
                adapter = value
        if base is None and adapter is None:
            continue
        delta = adapter - base if base is not None and adapter is not None else None
        rows.append(
            {
                "model": run.data.tags.get("model", ""),
                "run_name": run.info.run_name,
                "belebele_base": _fmt(base),
                "belebele_lora": _fmt(adapter),
                "delta": _fmt(delta),
                "_id": run.info.run_id,
                "_base": base,
                "_lora": adapter,
            }
        )
    return sorted(rows, key=lambda r: (r["model"], r["run_name"]))


def judge_table(runs) -> tuple[list[dict], list[str]]:
    """Rows = runs, columns = ``<suite>/<category>`` judge scores."""
    columns: list[str] = []
    rows = []
    for run in runs:
        scores = {
            k[len(JUDGE_PREFIX) :]: v for k, v in run.data.metrics.items() if k.startswith(JUDGE_PREFIX)
        }
        if not scores:
            continue
        for key in scores:
            if key not in columns:
                columns.append(key)
        rows.append(
            {
                "model": run.data.tags.get("model", ""),
                "run_name": run.info.run_name,
                "_id": run.info.run_id,
                "_scores": scores,
            }
        )
    columns.sort()
    for row in rows:
        row.update({c: _fmt(row["_scores"].get(c)) for c in columns})
    return sorted(rows, key=lambda r: (r["model"], r["run_name"])), columns


def _with_model(model: str, label: str, sep: str) -> str:
    return model if label == model else f"{model}{sep}{label}"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_loss_curves(client, runs, labels: dict, path: Path) -> Path | None:
    """One panel per model, each run's ``loss`` history overlaid."""
    by_model: dict[str, list] = {}
    for run in runs:
        history = client.get_metric_history(run.info.run_id, LOSS)
        if history:
            by_model.setdefault(run.data.tags.get("model", "?"), []).append((run, history))
    if not by_model:
        return None
    plt = _plt()
    n = len(by_model)
    fig, axes = plt.subplots(1, n, figsize=(5 * n, 4), dpi=100, squeeze=False)
    for ax, (model, items) in zip(axes[0], sorted(by_model.items()), strict=True):
        labels = short_labels([run for run, _ in items]) if len(items) > 1 else labels
        for run, history in items:
            points = sorted((m.step, m.value) for m in history)
            ax.plot(
                [s for s, _ in points],
                [v for _, v in points],
                marker="o",
                markersize=3,
                label=labels[run.info.run_id],
            )
        ax.set_title(model)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _bars(
    path: Path, groups: list[str], series: dict[str, list[float | None]], ylabel: str, title: str
) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(groups) * max(1, len(series)) / 2 + 2), 4.5), dpi=100)
    width = 0.8 / max(1, len(series))
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
        heights = [v if v is not None else 0.0 for v in values]
        bars = ax.bar(xs, heights, width, label=name)
        for bar, v in zip(bars, values, strict=True):
            if v is not None:
                ax.annotate(
                    f"{v:.3f}", (bar.get_x() + bar.get_width() / 2, v), ha="center", va="bottom", fontsize=7
                )
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(
    tracking_uri: str,
    experiment_name: str,
    out_dir: str | Path,
    parent_run_id: str | None = None,
    log_to_parent: bool = False,
) -> Report:
    """Write the tables and plots for an experiment (or one sweep) into ``out_dir``."""
    client = mlflow_client(tracking_uri)
    exp = client.get_experiment_by_name(experiment_name)
    if exp is None:
        raise TrackingError(
            f"logger.experiment_name: no MLflow experiment named '{experiment_name}' in {tracking_uri}"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = Report(out_dir=out)
    all_runs = collect_runs(client, exp.experiment_id, parent_run_id)
    finished = [r for r in all_runs if r.info.status == "FINISHED"]
    report.runs = len(finished)
    labels = short_labels(finished)
    scope = f"sweep {parent_run_id}" if parent_run_id else f"experiment '{experiment_name}'"
    md = [f"# Report: {scope}", "", f"{len(finished)} FINISHED runs of {len(all_runs)} ({tracking_uri}).", ""]

    def table(name: str, title: str, rows: list[dict], columns: list[str]) -> None:
        (out / f"{name}.md").write_text(rows_to_markdown(rows, columns))
        (out / f"{name}.csv").write_text(rows_to_csv(rows, columns))
        report.files += [out / f"{name}.md", out / f"{name}.csv"]
        md.extend([f"## {title}", "", rows_to_markdown(rows, columns)])

    run_rows = []
    for run in sorted(all_runs, key=lambda r: (r.data.tags.get("model", ""), r.info.run_name or "")):
        m, p = run.data.metrics, run.data.params
        run_rows.append(
            {
                "model": run.data.tags.get("model", ""),
                "run_name": run.info.run_name,
                "status": run.info.status,
                "lora.r": p.get("lora.r", ""),
                "learning_rate": p.get("training.learning_rate", ""),
                "final_loss": _fmt(m.get(FINAL_LOSS)),
                "eval_loss": _fmt(m.get(EVAL_LOSS)),
                "run_id": run.info.run_id,
            }
        )
    table("runs", "Runs", run_rows, RUN_COLUMNS)

    bb = belebele_rows(finished)
    if bb:
        table(
            "belebele",
            "Belebele accuracy without / with LoRA",
            bb,
            ["model", "run_name", "belebele_base", "belebele_lora", "delta"],
        )
        groups = [_with_model(r["model"], labels[r["_id"]], "\n") for r in bb]
        series = {"base": [r["_base"] for r in bb], "LoRA": [r["_lora"] for r in bb]}
        report.files.append(
            _bars(out / "belebele.png", groups, series, "accuracy", "Belebele (spa_Latn): base vs adapter")
        )
        md.extend(["![belebele](belebele.png)", ""])
    else:
        report.missing.append(
            "belebele: no run has a `belebele/acc` metric (the evaluation stage did not run)"
        )

    judge_rows, judge_cols = judge_table(finished)
    if judge_rows:
        table("judge", "Judge scores per category (1-5)", judge_rows, ["model", "run_name", *judge_cols])
        series = {
            _with_model(r["model"], labels[r["_id"]], " "): [r["_scores"].get(c) for c in judge_cols]
            for r in judge_rows
        }
        report.files.append(
            _bars(out / "judge.png", judge_cols, series, "mean score (1-5)", "Judge scores per category")
        )
        md.extend(["![judge](judge.png)", ""])
    else:
        report.missing.append(
            "judge: no run has `judge/<suite>/<category>` metrics (the judge stage did not run)"
        )

    curves = plot_loss_curves(client, finished, labels, out / "loss_curves.png")
    if curves:
        report.files.append(curves)
        md.extend(["## Training loss", "", "![loss curves](loss_curves.png)", ""])
    else:
        report.missing.append("loss: no FINISHED run has a `loss` history")

    if report.missing:
        md.extend(["## Missing", "", *[f"- {m}" for m in report.missing], ""])
    (out / "report.md").write_text("\n".join(md))
    report.files.insert(0, out / "report.md")
    if log_to_parent and parent_run_id:
        client.log_artifacts(parent_run_id, str(out), artifact_path="report")
    return report
