"""What a researcher sees in the MLflow UI: read a fresh run back as the UI does.

The session's one tiny `python train.py` run (tests/conftest.py: trained_tiny), on a store of its own; the tests check the
experiment's kind tag and description, the run's name, result card, dataset inputs, the
per-question table with both answers, the base-vs-adapter chart and the metric prefixes. The
helpers behind them (names, metric names, the card, the table join) are tested without a run.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from sftlab.evaluation.samples_table import combined_rows
from sftlab.track import metric_names as mn
from sftlab.track.naming import short_overrides, sweep_name, swept_keys
from sftlab.track.plots import paired_scores
from sftlab.track.run_card import card_markdown

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def fresh_run(trained_tiny):
    """``(client, run, stdout)`` of the session's shared tiny training run (tests/conftest.py),
    in a store of its own, so its experiment was created (and tagged) by that run."""
    return trained_tiny.client, trained_tiny.run, trained_tiny.stdout


def _table(client, run_id, path, tmp_path):
    local = client.download_artifacts(run_id, path, str(tmp_path))
    data = json.loads(Path(local).read_text())
    return [dict(zip(data["columns"], row, strict=True)) for row in data["data"]]


def test_experiment_opens_as_model_training_with_a_description(fresh_run):
    client, run, stdout = fresh_run
    exp = client.get_experiment(run.info.experiment_id)
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    note = exp.tags["mlflow.note.content"]
    assert f"**{exp.name}**" in note and "sftlab train" in note and "lora.r=4" in note
    # The printed link opens the run in the model-training view whatever the browser remembers.
    url = f"/#/experiments/{exp.experiment_id}/runs/{run.info.run_id}?workflowType=machine_learning"
    assert f"run page: http://127.0.0.1:5000{url}" in stdout


def test_run_name_says_model_overrides_and_hash(fresh_run, trained_tiny):
    _, run, _ = fresh_run
    chash = run.data.tags["config_hash"]
    overrides = run.data.tags["sftlab.overrides"]
    assert overrides == ",".join(
        sorted(trained_tiny.overrides)
    )  # the full string, sorted by key as Hydra does
    # The name keeps the overrides' last key segment, cut at 48 characters (short_overrides, tested below).
    assert run.info.run_name == f"tiny_llama-{short_overrides(overrides)}-{chash[:6]}"
    assert run.info.run_name.startswith("tiny_llama-dataset=alpaca_dolly_es_sample,every_n_steps=2,")


def test_description_is_a_result_card(fresh_run):
    _, run, _ = fresh_run
    card = run.data.tags["mlflow.note.content"]
    m = run.data.metrics
    assert "| **Model** | `tiny_llama`, nf4, LoRA r=4" in card
    assert "| **Data** | `alpaca_dolly_es_sample`: 35 train / 4 held-out records" in card
    assert f"{m['train/final_loss']:.3f}" in card and f"eval loss {m['train/eval_loss']:.3f}" in card
    assert (
        f"| **belebele\u00a0acc** | base {m['belebele/base_acc']:.3f} → adapter **{m['belebele/acc']:.3f}**"
        in card
    )
    base = f"#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}/artifacts"
    for path in (
        "plots/base_vs_adapter.png",
        "plots/loss_curve.png",
        "eval/belebele_samples.json",
        "adapter",
    ):
        assert f"]({base}/{path})" in card, path
    assert "iB on disk" in card  # the adapter's size


def test_train_and_eval_data_are_dataset_inputs(fresh_run):
    _, run, _ = fresh_run
    inputs = {}
    for di in run.inputs.dataset_inputs:
        context = {t.key: t.value for t in di.tags}["mlflow.data.context"]
        inputs[context] = di.dataset
    assert set(inputs) == {"training", "validation", "evaluation"}
    train = inputs["training"]
    assert train.name == "alpaca_dolly_es_sample/train" and train.digest == run.data.tags["data_hash"][:16]
    # a mix names its first source (every source's counts are in data/stats.json)
    assert "alpaca_es_sample.jsonl" in train.source and json.loads(train.profile)["num_rows"] == 35
    assert inputs["validation"].digest == run.data.tags["data_eval_hash"][:16]
    bench = inputs["evaluation"]
    assert bench.name == "belebele_spa_Latn" and "belebele_spa_sample.jsonl" in bench.source
    assert bench.digest == run.data.tags["eval.data"][:16]
    assert run.data.tags["eval.synthetic"] == "true"  # the bundled sample is not Belebele


def test_one_table_holds_both_answers_per_question(fresh_run, tmp_path):
    client, run, _ = fresh_run
    rows = _table(client, run.info.run_id, "eval/belebele_samples.json", tmp_path)
    assert len(rows) == 8
    for r in rows:
        assert r["question"] and r["passage"] and r["correct"] in "ABCD"
        assert r["base_choice"] in "ABCD" and r["adapter_choice"] in "ABCD"
        assert r["changed"] == (r["base_choice"] != r["adapter_choice"])
    m = run.data.metrics
    assert sum(r["adapter_is_correct"] for r in rows) / 8 == pytest.approx(m["belebele/acc"])
    assert sum(r["base_is_correct"] for r in rows) / 8 == pytest.approx(m["belebele/base_acc"])
    # the default run logs the paired statistics, computed from exactly these rows
    to_correct = [r for r in rows if r["adapter_is_correct"] and not r["base_is_correct"]]
    to_wrong = [r for r in rows if r["base_is_correct"] and not r["adapter_is_correct"]]
    assert m["belebele/flips_to_correct"] == len(to_correct) and m["belebele/flips_to_wrong"] == len(to_wrong)
    assert 0 < m["belebele/mcnemar_p"] <= 1
    assert m["belebele/delta_acc_ci_low"] <= m["belebele/delta_acc"] <= m["belebele/delta_acc_ci_high"]
    key = json.loads(
        Path(
            client.download_artifacts(run.info.run_id, "eval/belebele_base_key.json", str(tmp_path))
        ).read_text()
    )
    assert (
        key["key"] == run.data.tags["sftlab.base_eval_key"]
        and key["device"] == "cpu"
        and key["batch_size"] == 8
    )
    assert set(key["versions"]) >= {"lm_eval", "transformers", "torch", "bitsandbytes"}
    flips = _table(client, run.info.run_id, "eval/belebele_flips.json", tmp_path)
    assert sorted(f["question_id"] for f in flips) == sorted(r["question_id"] for r in to_correct + to_wrong)


def test_chart_and_loss_figure_are_images(fresh_run, tmp_path):
    client, run, _ = fresh_run
    for path in ("plots/base_vs_adapter.png", "plots/loss_curve.png"):
        local = client.download_artifacts(run.info.run_id, path, str(tmp_path))
        assert Path(local).read_bytes()[:8] == PNG, path


def test_metric_names_are_grouped_by_prefix(fresh_run):
    client, run, _ = fresh_run
    m = run.data.metrics
    assert {k.split("/")[0] for k in m} == {"belebele", "train", "data", "preflight", "model"}, sorted(m)
    assert not [k for k in m if "__" in k]
    assert "preflight/logits_loss_gib" in m
    first = client.get_metric_history(run.info.run_id, mn.FIRST_LOSS)
    loss = client.get_metric_history(run.info.run_id, mn.LOSS)
    assert [(p.step, p.value) for p in first] == [(0, loss[0].value)]


# ---- the pieces, without a run ----


def test_short_overrides_and_sweep_names():
    assert (
        short_overrides("lora.r=8,model=tiny_falcon,training.learning_rate=1e-4") == "r=8,learning_rate=1e-4"
    )
    assert short_overrides("dataset.leak_check.suites=[a,b],lora.r=4") == "suites=[a,b],r=4"
    assert len(short_overrides("training.learning_rate=" + "1" * 80)) == 48
    # In a sweep the varied keys lead the name, so cutting it never hides them.
    common = "dataset=belebele_answers,dataset.eval_fraction=0.1,lora.r=4,model.prompt_format=plain"
    assert short_overrides(common, first=["lora.r"]).startswith("r=4,dataset=belebele_answers,")
    assert swept_keys(["lora.r=4,8", "model=x", "x=[a,b]", "+y=range(1,3)"]) == ["lora.r", "y"]
    assert sweep_name(["experiment=study_tiny"], "03-10-00") == "sweep-study_tiny-03-10-00"
    assert (
        sweep_name(
            ["model=tiny_llama,tiny_falcon", "lora.r=4,8", "hydra/launcher=parallel", "lora.dropout=0"], "t"
        )
        == "sweep-model=tiny_llama,tiny_falcon,r=4,8-t"
    )


def test_trainer_keys_become_train_metrics():
    assert mn.train_metric("loss") == "train/loss"
    assert mn.train_metric("eval_loss") == "train/eval_loss"
    assert mn.train_metric("train_runtime") == "train/runtime"
    assert mn.train_metric("train_loss") == "train/mean_loss"  # not the curve's train/loss
    assert mn.train_metric("train/loss") == "train/loss"
    assert mn.slug("Logits + loss") == "logits_loss"


def _run(metrics, tags=None, params=None):
    info = SimpleNamespace(experiment_id="3", run_id="r1")
    return SimpleNamespace(
        info=info, data=SimpleNamespace(metrics=metrics, tags=tags or {}, params=params or {})
    )


def test_card_shows_the_paired_interval_and_judge_scores_when_logged():
    metrics = {
        "belebele/acc": 0.5,
        "belebele/base_acc": 0.25,
        "belebele/delta_acc": 0.25,
        "belebele/delta_acc_ci_low": 0.1,
        "belebele/delta_acc_ci_high": 0.4,
        "judge/general_es/mean": 3.25,
        "judge/general_es/simple": 4.0,
    }
    card = card_markdown(_run(metrics), {"eval/belebele_samples.json": 10})
    assert "base 0.250 → adapter **0.500** (Δ +0.250, paired 95% CI [+0.100, +0.400])" in card
    assert "| **Judge** | general_es 3.25 (1–5, mean) |" in card
    assert (
        "[per-question table (belebele)](#/experiments/3/runs/r1/artifacts/eval/belebele_samples.json)"
        in card
    )
    no_ci = card_markdown(_run({"belebele/acc": 0.5, "belebele/base_acc": 0.25}), {})
    assert "CI" not in no_ci and "Judge" not in no_ci
    # Every evaluated task gets its base/adapter pair (an English control next to Belebele).
    both = {**metrics, "belebele_en/acc": 0.6, "belebele_en/base_acc": 0.55}
    assert [(r["task"], r["metric"]) for r in paired_scores(both)] == [
        ("belebele", "acc"),
        ("belebele_en", "acc"),
    ]


def test_combined_rows_join_on_the_question():
    adapter = [
        {
            "doc_id": 0,
            "question_id": "q0",
            "question": "¿?",
            "chosen": "B",
            "correct": "B",
            "is_correct": True,
        }
    ]
    base = [
        {
            "doc_id": 0,
            "question_id": "q0",
            "chosen": "A",
            "correct": "B",
            "is_correct": False,
            "passage": "x" * 500,
        },
        {"doc_id": 1, "question_id": "q1", "chosen": "C", "correct": "C", "is_correct": True},
    ]
    rows = combined_rows(adapter, base)
    assert [r["question_id"] for r in rows] == ["q0", "q1"]
    assert rows[0]["changed"] is True and rows[0]["base_choice"] == "A" and rows[0]["adapter_choice"] == "B"
    assert len(rows[0]["passage"]) == 160 and rows[0]["passage"].endswith("…")
    assert rows[1]["adapter_choice"] is None and rows[1]["changed"] is None
