"""``sftlab report`` on an ordinary store: two models, one with two runs and one with one.

The runs are logged straight into the session's SQLite store with the tags, params and metrics
that training, evaluation and judging write (no training: seconds, not minutes). ``tiny_falcon``
(two runs) sorts before ``tiny_llama`` (one run): the order that crashed the report before.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = "report-2-models-1-and-2-runs"
RUNS = [  # model, run name (as sweeps name runs), lora.r, acc, acc_stderr, base_acc, base_stderr
    ("tiny_falcon", "lora.r=4,model=tiny_falcon,training.max_steps=2", "4", 0.30, 0.0512, 0.25, 0.0484),
    ("tiny_falcon", "lora.r=8,model=tiny_falcon,training.max_steps=2", "8", 0.35, 0.0533, 0.25, 0.0484),
    ("tiny_llama", "lora.r=4,model=tiny_llama,training.max_steps=2", "4", 0.275, 0.0499, 0.2625, 0.0492),
]
QUESTIONS = 80


@pytest.fixture(scope="module")
def store(mlflow_uri):
    """The session's SQLite store, with the three runs in an experiment of their own."""
    from mlflow.tracking import MlflowClient

    uri = mlflow_uri
    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment(EXPERIMENT)
    for model, name, r, acc, se, base, base_se in RUNS:
        run = client.create_run(exp, run_name=name, tags={"model": model, "dataset": "sample_es"})
        rid = run.info.run_id
        client.log_param(rid, "lora.r", r)
        client.log_param(rid, "training.learning_rate", "0.0002")
        for key, value in (
            ("eval.task", "belebele_spa_Latn"),
            ("eval.data.source", "hub"),
            ("eval.limit", "None"),
        ):
            client.log_param(rid, key, value)  # as if scored on the full benchmark: comparable with Table 5
        for step, loss in enumerate((2.0, 1.6, 1.3), 1):
            client.log_metric(rid, "train/loss", loss + int(r) / 100, step=step)
        seconds = 12.5
        metrics = {
            "train/final_loss": 1.3,
            "train/eval_loss": 1.4,
            "belebele/acc": acc,
            "belebele/acc_stderr": se,
            "belebele/base_acc": base,
            "belebele/base_acc_stderr": base_se,
            "belebele/delta_acc": acc - base,
            # what the evaluation stage logs; the report derives the question count from them
            "belebele/eval_questions_per_s": QUESTIONS / seconds,
            "belebele/eval_seconds": seconds,
            "judge/law_ec/simple": 2.5 + int(r) / 8,
            "judge/law_ec/complex": 2.0 + int(r) / 8,
        }
        for key, value in metrics.items():
            client.log_metric(rid, key, value)
        client.set_terminated(rid, "FINISHED")
    # a merge of the last adapter is a run of its own; the report must not list it as a result
    merge = client.create_run(exp, run_name=f"merge-{rid}", tags={"model": model, "sftlab.stage": "merge"})
    client.set_terminated(merge.info.run_id, "FINISHED")
    return uri


def _csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_report_of_two_models_with_one_and_two_runs(store, tmp_path):
    out = tmp_path / "report"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sftlab",
            "report",
            f"logger.tracking_uri={store}",
            f"logger.experiment_name={EXPERIMENT}",
            f"out={out}",
            "+compare_as.tiny_falcon=falcon_7b",  # a dry run of the study comparison
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "report: " in proc.stdout and "(3 FINISHED runs)" in proc.stdout

    runs = _csv(out / "runs.csv")
    assert [(r["model"], r["dataset"], r["run"]) for r in runs] == [
        ("tiny_falcon", "sample_es", "r=4"),
        ("tiny_falcon", "sample_es", "r=8"),
        ("tiny_llama", "sample_es", "r=4"),
    ]
    bb = _csv(out / "belebele.csv")
    assert [r["run"] for r in bb] == ["r=4", "r=8", "r=4"]
    for row, (model, _, _, acc, se, base, base_se) in zip(bb, RUNS, strict=True):
        assert row["model"] == model and row["dataset"] == "sample_es" and row["questions"] == str(QUESTIONS)
        assert float(row["belebele_lora"]) == pytest.approx(acc) and float(
            row["lora_stderr"]
        ) == pytest.approx(se)
        assert float(row["belebele_base"]) == pytest.approx(base)
        assert float(row["base_stderr"]) == pytest.approx(base_se)
        assert float(row["delta"]) == pytest.approx(acc - base)
    md = (out / "report.md").read_text()
    assert "| model | dataset | run | questions |" in md and "chance" in md
    for png in ("belebele.png", "judge.png", "loss_curves.png", "study_comparison.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # beside the study's Table 5: tiny_falcon's two runs as falcon_7b, their mean and a t-interval
    study = {(r["row"], r["model"]): r for r in _csv(out / "study_comparison.csv")}
    with_lora = study[("with_lora", "falcon_7b")]
    assert float(with_lora["study"]) == 0.287 and float(with_lora["ours"]) == pytest.approx(0.325)
    assert with_lora["runs"] == "2" and not any(m == "llama2_7b_chat" for _, m in study)
    assert "\\toprule" in (out / "study_comparison.tex").read_text()
    assert "logged to MLflow run" in proc.stdout


def test_bar_chart_has_a_chance_line_error_bars_and_a_legend_clear_of_the_bars():
    from sftlab.report.charts import bar_chart

    groups = ["tiny_falcon\nr=4", "tiny_falcon\nr=8", "tiny_llama\nr=4"]
    series = {"base": [0.25, 0.25, 0.2625], "LoRA": [0.30, 0.35, 0.275]}
    errors = {"base": [0.0484, 0.0484, 0.0492], "LoRA": [0.0512, 0.0533, 0.0499]}
    fig = bar_chart(groups, series, "accuracy", "Belebele", errors=errors, chance=0.25)
    fig.canvas.draw()
    (ax,) = fig.axes
    renderer = fig.canvas.get_renderer()
    legend = (ax.get_legend() or fig.legends[0]).get_window_extent(renderer)
    bars = [patch.get_window_extent(renderer) for patch in ax.patches]
    assert len(bars) == 6 and not any(legend.overlaps(bar) for bar in bars)
    chance = [line for line in ax.get_lines() if line.get_label().startswith("chance")]
    assert len(chance) == 1 and set(chance[0].get_ydata()) == {0.25}
    from matplotlib.container import BarContainer

    bar_groups = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bar_groups) == 2 and all(c.errorbar is not None for c in bar_groups)  # 95 % whiskers


def test_run_labels_are_short_distinct_and_readable():
    from types import SimpleNamespace

    from sftlab.report.experiment import short_labels

    def run(run_id, name):
        return SimpleNamespace(info=SimpleNamespace(run_id=run_id, run_name=name))

    runs = [
        run("a" * 32, "lora.r=4,model=x,training.learning_rate=0.0002,training.max_steps=2"),
        run("b" * 32, "lora.r=8,model=x,training.learning_rate=2e-05,training.max_steps=2"),
        run("c" * 32, "lora.r=8,model=x,training.learning_rate=2e-05,training.max_steps=2"),  # a rerun
    ]
    labels = short_labels(runs)
    assert labels["a" * 32] == "r=4, learning_rate=0.0002"
    assert labels["b" * 32].startswith("r=8, learning_rate=2e-05") and labels["b" * 32] != labels["c" * 32]
    assert short_labels(runs[:1]) == {"a" * 32: "x"}  # nothing to tell apart: the model
