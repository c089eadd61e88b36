"""The study's comparison report from MLflow: markdown + CSV tables and PNG plots.

Reads the FINISHED training runs of an experiment (or of one sweep: the parent's children
plus the earlier runs a resumed sweep reused) and writes, into one folder:

* ``runs.md/.csv``      every run: model, dataset, its short label, status, LoRA rank, learning rate, losses
* ``belebele.md/.csv``  per model and run: Belebele accuracy without / with the adapter, their
                        standard errors, the difference and the number of questions
* ``judge.md/.csv``     judge scores per suite and category (``judge/<suite>/<category>``)
* ``loss_curves.png``   training loss overlaid per model; ``belebele.png`` (95 % whiskers and the
                        chance line) and ``judge.png`` bars (:mod:`sftlab.report.charts`)
* ``report.md``         all tables, the plots, and which metrics no run has

Runs are labelled by what sets them apart (:func:`sftlab.report.labels.short_labels`).

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
from sftlab.report.charts import bar_chart, pyplot, save
from sftlab.report.labels import short_labels
from sftlab.track.metric_names import EVAL_LOSS, FINAL_LOSS, LOSS
from sftlab.track.sweep_info import read_sweep_info
from sftlab.track.tables import rows_to_csv, rows_to_markdown
from sftlab.track.tracker import mlflow_client

log = logging.getLogger(__name__)

# Belebele accuracy keys: `belebele/acc` is the adapter's; a key that also names `base`
# (`belebele/base_acc`, `belebele_base/acc`, `belebele/acc_base`) is the base model's.
BELEBELE_KEY = re.compile(r"(^|/)belebele[^ ]*acc", re.IGNORECASE)
JUDGE_PREFIX = "judge/"
RUN_COLUMNS = [
    "model",
    "dataset",
    "run",
    "status",
    "lora.r",
    "learning_rate",
    "final_loss",
    "eval_loss",
    "run_name",
    "run_id",
]
BELEBELE_COLUMNS = [
    "model",
    "dataset",
    "run",
    "questions",
    "belebele_base",
    "base_stderr",
    "belebele_lora",
    "lora_stderr",
    "delta",
]
BELEBELE_CHANCE = 0.25  # four answer options


@dataclass
class Report:
    """What :func:`write_report` produced."""

    out_dir: Path
    files: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    runs: int = 0
    run_id: str | None = None  # the MLflow run the report was logged to (log_to_own_run)


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


# Runs that hold no result of their own: a sweep's parent (its children do) and a merge (it
# repeats its adapter's run), so listing them would add empty or duplicate rows.
NOT_RESULTS = ("sweep", "merge", "report")


def collect_runs(client, experiment_id: str, parent_run_id: str | None = None) -> list:
    """Training runs of the experiment, or of one sweep (children + reused earlier runs)."""
    if parent_run_id is None:
        runs = client.search_runs([experiment_id], max_results=10000, order_by=["attributes.start_time ASC"])
        return [r for r in runs if r.data.tags.get("sftlab.stage") not in NOT_RESULTS]
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


def _questions(metrics: dict, prefix: str, kind: str = "") -> int | None:
    """Questions an evaluation scored: ``<prefix>/n_questions``, else questions/s x seconds."""
    if f"{prefix}/{kind}n_questions" in metrics:
        return int(metrics[f"{prefix}/{kind}n_questions"])
    qps, secs = (
        metrics.get(f"{prefix}/eval_{kind}questions_per_s"),
        metrics.get(f"{prefix}/eval_{kind}seconds"),
    )
    return round(qps * secs) if qps and secs else None


def belebele_rows(runs, labels: dict[str, str] | None = None) -> list[dict]:
    """Per run: Belebele accuracy of the base model and with the adapter, their standard errors,
    the difference and the number of questions."""
    labels = labels or short_labels(runs)
    rows = []
    for run in runs:
        m = run.data.metrics
        base, adapter = m.get("belebele/base_acc"), m.get("belebele/acc")
        for key, value in m.items():  # other spellings: belebele_base/acc, belebele/acc_base, ...
            if not BELEBELE_KEY.search(key) or "stderr" in key or "delta" in key:
                continue
            if "base" in key.lower():
                base = value if base is None else base
            elif adapter is None:
                adapter = value
        if base is None and adapter is None:
            continue
        delta = adapter - base if base is not None and adapter is not None else None
        questions = _questions(m, "belebele") or _questions(m, "belebele", "base_")
        rows.append(
            {
                "model": run.data.tags.get("model", ""),
                "dataset": run.data.tags.get("dataset", ""),
                "run": labels[run.info.run_id],
                "run_name": run.info.run_name,
                "questions": "" if questions is None else questions,
                "belebele_base": _fmt(base),
                "base_stderr": _fmt(m.get("belebele/base_acc_stderr")),
                "belebele_lora": _fmt(adapter),
                "lora_stderr": _fmt(m.get("belebele/acc_stderr")),
                "delta": _fmt(delta),
                "_id": run.info.run_id,
                "_base": base,
                "_lora": adapter,
                "_base_se": m.get("belebele/base_acc_stderr"),
                "_lora_se": m.get("belebele/acc_stderr"),
            }
        )
    return sorted(rows, key=lambda r: (r["model"], r["run_name"] or ""))


def judge_table(runs, labels: dict[str, str] | None = None) -> tuple[list[dict], list[str]]:
    """Rows = runs, columns = ``<suite>/<category>`` judge scores."""
    labels = labels or short_labels(runs)
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
                "dataset": run.data.tags.get("dataset", ""),
                "run": labels[run.info.run_id],
                "run_name": run.info.run_name,
                "_id": run.info.run_id,
                "_scores": scores,
            }
        )
    columns.sort()
    for row in rows:
        row.update({c: _fmt(row["_scores"].get(c)) for c in columns})
    return sorted(rows, key=lambda r: (r["model"], r["run_name"] or "")), columns


def _with_model(model: str, label: str, sep: str) -> str:
    if label == model:
        return model
    return f"{model}{sep}{label.replace(', ', sep)}" if sep == "\n" else f"{model}{sep}{label}"


def plot_loss_curves(client, runs, labels: dict, path: Path) -> Path | None:
    """One panel per model, each run's ``loss`` history overlaid."""
    by_model: dict[str, list] = {}
    for run in runs:
        history = client.get_metric_history(run.info.run_id, LOSS)
        if history:
            by_model.setdefault(run.data.tags.get("model", "?"), []).append((run, history))
    if not by_model:
        return None
    plt = pyplot()
    n = len(by_model)
    fig, axes = plt.subplots(1, n, figsize=(5 * n, 4), dpi=100, squeeze=False, layout="constrained")
    for ax, (model, items) in zip(axes[0], sorted(by_model.items()), strict=True):
        # Within a panel the model is the title; label the runs by what sets them apart there.
        panel = short_labels([run for run, _ in items]) if len(items) > 1 else labels
        for run, history in items:
            points = sorted((m.step, m.value) for m in history)
            ax.plot(
                [s for s, _ in points],
                [v for _, v in points],
                marker="o",
                markersize=3,
                label=panel[run.info.run_id],
            )
        ax.set_title(model)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return save(fig, path)


def write_report(
    tracking_uri: str,
    experiment_name: str,
    out_dir: str | Path,
    parent_run_id: str | None = None,
    log_to_parent: bool = False,
    compare_as: dict | None = None,
    log_to_own_run: bool = False,
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
    labels = short_labels(all_runs)  # one label per run in every table and figure
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
                "dataset": run.data.tags.get("dataset", ""),
                "run": labels[run.info.run_id],
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

    bb = belebele_rows(finished, labels)
    if bb:
        table("belebele", "Belebele accuracy without / with LoRA", bb, BELEBELE_COLUMNS)
        counts = sorted({r["questions"] for r in bb if r["questions"] != ""})
        md.extend(
            [
                f"Questions per evaluation: {', '.join(map(str, counts)) or 'unknown'}. Whiskers: 95 % "
                f"confidence intervals (±1.96 standard errors); dashed line: chance ({BELEBELE_CHANCE}, "
                "four options).",
                "",
            ]
        )
        groups = [_with_model(r["model"], r["run"], "\n") for r in bb]
        series = {"base": [r["_base"] for r in bb], "LoRA": [r["_lora"] for r in bb]}
        errors = {"base": [r["_base_se"] for r in bb], "LoRA": [r["_lora_se"] for r in bb]}
        fig = bar_chart(
            groups,
            series,
            "accuracy",
            "Belebele (spa_Latn): base vs adapter",
            errors=errors,
            chance=BELEBELE_CHANCE,
        )
        report.files.append(save(fig, out / "belebele.png"))
        md.extend(["![belebele](belebele.png)", ""])
    else:
        report.missing.append(
            "belebele: no run has a `belebele/acc` metric (the evaluation stage did not run)"
        )

    judge_rows, judge_cols = judge_table(finished, labels)
    if judge_rows:
        table(
            "judge", "Judge scores per category (1-5)", judge_rows, ["model", "dataset", "run", *judge_cols]
        )
        series = {
            _with_model(r["model"], r["run"], " "): [r["_scores"].get(c) for c in judge_cols]
            for r in judge_rows
        }
        fig = bar_chart(judge_cols, series, "mean score (1-5)", "Judge scores per category", ylim=(0, 5.5))
        report.files.append(save(fig, out / "judge.png"))
        md.extend(["![judge](judge.png)", ""])
    else:
        report.missing.append(
            "judge: no run has `judge/<suite>/<category>` metrics (the judge stage did not run)"
        )

    from sftlab.report.judge_paired import COLUMNS as PAIRED_COLUMNS
    from sftlab.report.judge_paired import paired_judge_rows

    paired = paired_judge_rows(client, [r for r in all_runs if r.info.status == "FINISHED"], labels)
    if paired:
        table(
            "judge_paired",
            "Judge scores, adapter vs base on the same prompts (Wilcoxon signed-rank)",
            paired,
            PAIRED_COLUMNS,
        )

    from sftlab.report.replicates import replicate_rows

    rep_rows, rep_cols = replicate_rows(finished)
    if rep_rows:
        table("replicates", "Seeds as replicates: mean [95 % t-interval] across seeds", rep_rows, rep_cols)
        md.extend(
            [
                "`best`: the best configuration on that metric; `~best (p=..)`: the seeds do not separate "
                "it from the best (Welch's t-test, p >= 0.05).",
                "",
            ]
        )

    from sftlab.report.study import write_comparison

    study_files, study_notes = write_comparison(client, finished, out, compare_as)
    if study_files:
        report.files += study_files
        md.extend(
            [
                "## Beside the study's Tables 4-6",
                "",
                "[study_comparison.md](study_comparison.md) (also .tex with booktabs, .csv)",
                "",
                "![study comparison](study_comparison.png)",
                "",
            ]
        )
    report.missing += [n for n in study_notes if n.startswith("study comparison:")]
    md.extend(
        [f"- {n}" for n in study_notes if not n.startswith("study comparison:")] + [""] * bool(study_notes)
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
    elif log_to_own_run:  # a report of a whole experiment: a run of its own, never a result row
        run = client.create_run(exp.experiment_id, run_name="report", tags={"sftlab.stage": "report"})
        client.log_artifacts(run.info.run_id, str(out), artifact_path="report")
        client.set_terminated(run.info.run_id, "FINISHED")
        report.run_id = run.info.run_id
    return report
