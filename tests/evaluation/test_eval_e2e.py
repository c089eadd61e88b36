"""Belebele end to end: train an adapter that learns to answer D, evaluate with and without it,
reuse the cached base score, evaluate standalone, and match the ``lm_eval`` command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXP = "eval-e2e"
TASK = "belebele_spa_Latn_local"
# The sample's 80 answers are balanced over A-D (a tiny random model cannot learn them in 30 steps),
# so the bundled letter file teaches one letter for every prompt: what training taught is then plain
# in what evaluation sees (the adapter answers D), and accuracy stays at chance (20 of 80 answers are D).
TAUGHT = "D"
TEACH = [
    "dataset=belebele_letter_d",
    "model.prompt_format=plain",  # the exact prompt lm-eval shows: "P: ...\nAnswer:" -> " B"
    "training.max_steps=30",
    "training.logging_steps=10",
    "training.lr_scheduler_type=constant",
    "training.warmup_ratio=0",
    "eval.limit=null",  # all 80 questions (the tiny preset scores 32 for speed)
    # the settings these thresholds were measured with (the tiny preset: r=16, batch 4)
    "lora.r=256",
    "lora.alpha=256",
    "lora.dropout=0.2",
    "training.per_device_train_batch_size=8",
]


def _eval_cli(cache_dir, mlflow_uri, run_dir, *overrides, timeout=600):
    cmd = [
        sys.executable,
        "-m",
        "sftlab",
        "eval",
        f"logger.tracking_uri={mlflow_uri}",
        f"logger.experiment_name={EXP}",
        f"paths.cache_dir={cache_dir}",
        f"hydra.run.dir={run_dir}",
        *overrides,
    ]
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=dict(os.environ)
    )


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory) -> str:
    """A store of this module's own: the base-score cache is store-wide, and runs of other test
    modules (plain `python train.py` on the same tiny model and sample) would otherwise supply it."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow-eval') / 'mlflow.db'}"


@pytest.fixture
def mlflow_client(mlflow_uri):
    """An MlflowClient on this module's store."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=mlflow_uri)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, cache_dir, mlflow_uri):
    """One `python train.py` run on the answers data; returns (run id, adapter dir)."""
    from mlflow.tracking import MlflowClient

    run_dir = tmp_path_factory.mktemp("e2e-train")
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        f"logger.tracking_uri={mlflow_uri}",
        f"logger.experiment_name={EXP}",
        f"paths.cache_dir={cache_dir}",
        f"hydra.run.dir={run_dir}",
        *TEACH,
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "belebele_spa_Latn (SYNTHETIC sample, not the benchmark):  acc" in proc.stdout, proc.stdout[-2000:]
    client = MlflowClient(tracking_uri=mlflow_uri)
    exp = client.get_experiment_by_name(EXP)
    (run,) = client.search_runs([exp.experiment_id], filter_string="tags.`sftlab.stage` = 'train'")
    return run.info.run_id, str(run_dir / "adapter")


def _table(client, run_id, path, tmp_path):
    local = client.download_artifacts(run_id, path, str(tmp_path))
    data = json.loads(Path(local).read_text())
    return [dict(zip(data["columns"], row, strict=True)) for row in data["data"]]


def _share(rows, side, letter=TAUGHT):
    return sum(r[f"{side}_choice"] == letter for r in rows) / len(rows)


def test_adapter_learns_what_it_was_taught_and_both_scores_land_in_mlflow(
    trained_run, mlflow_client, tmp_path
):
    run_id, _ = trained_run
    run = mlflow_client.get_run(run_id)
    assert run.info.status == "FINISHED"
    m = run.data.metrics
    # Chance is 25 % (the correct options are spread evenly over A-D); a model that answers D
    # everywhere scores exactly 20/80, and nothing taught here reads the passages.
    assert m["belebele/acc"] <= 0.40, m
    assert m["belebele/base_acc"] <= 0.40, m
    assert m["belebele/delta_acc"] == pytest.approx(m["belebele/acc"] - m["belebele/base_acc"])
    for key in ("acc_norm", "acc_stderr", "acc_norm_stderr"):
        assert f"belebele/{key}" in m and f"belebele/base_{key}" in m
    assert run.data.tags["sftlab.base_eval_reused"] == "false"
    assert run.data.tags["sftlab.base_eval_source"] == run_id

    artifacts = {a.path for a in mlflow_client.list_artifacts(run_id, "eval")}
    assert {
        "eval/belebele_samples.json",
        "eval/belebele_results.json",
        "eval/belebele_base_results.json",
        "eval/belebele_base_key.json",
        f"eval/{TASK}.yaml",
    } <= artifacts
    assert "eval/belebele_base_samples.json" not in artifacts  # one table holds both answers
    rows = _table(mlflow_client, run_id, "eval/belebele_samples.json", tmp_path)
    assert len(rows) == 80
    first = rows[0]
    assert first["question_id"] == "https://sftlab.invalid/belebele_spa_sample/01#1"
    assert first["question"] == "¿En qué ciudad vive Lucía?" and first["passage"].startswith("Lucía vive en")
    assert first["correct"] == "C"  # the generator's seeded position for this question
    # What training taught is what evaluation sees: the adapter answers D, the base did not.
    assert _share(rows, "adapter") >= 0.9, _share(rows, "adapter")
    assert _share(rows, "base") <= 0.5, _share(rows, "base")
    assert sum(r["correct"] == TAUGHT for r in rows) == 20  # balanced: a D-answerer is at chance
    # The table is the per-question truth behind both metrics and the delta.
    assert sum(r["adapter_is_correct"] for r in rows) / 80 == pytest.approx(m["belebele/acc"])
    assert sum(r["base_is_correct"] for r in rows) / 80 == pytest.approx(m["belebele/base_acc"])
    for r in rows:
        assert r["changed"] == (r["base_choice"] != r["adapter_choice"])
        for side in ("base", "adapter"):
            lls = json.loads(r[f"{side}_loglikelihoods"])
            assert set(lls) == {"A", "B", "C", "D"} and r[f"{side}_choice"] == max(lls, key=lls.get)
            assert r[f"{side}_is_correct"] == (r[f"{side}_choice"] == r["correct"])
    results = json.loads(
        Path(
            mlflow_client.download_artifacts(run_id, "eval/belebele_results.json", str(tmp_path))
        ).read_text()
    )
    assert results["results"][TASK]["acc,none"] == pytest.approx(m["belebele/acc"])


def test_standalone_eval_by_run_id_reuses_the_base_score(
    trained_run, cache_dir, mlflow_uri, mlflow_client, tmp_path
):
    """`sftlab eval adapter=<run id>`: same adapter scores, base score reused from the run."""
    run_id, _ = trained_run
    proc = _eval_cli(cache_dir, mlflow_uri, tmp_path, f"adapter={run_id}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"reused from run {run_id}" in proc.stdout
    new_id = proc.stdout.split("MLflow run: ")[1].split()[0]
    new, old = mlflow_client.get_run(new_id), mlflow_client.get_run(run_id)
    assert new.data.tags["sftlab.stage"] == "eval" and new.data.tags["sftlab.adapter_run_id"] == run_id
    assert new.data.tags["sftlab.base_eval_reused"] == "true"
    assert new.data.tags["sftlab.base_eval_source"] == run_id
    assert new.data.tags["sftlab.base_eval_key"] == old.data.tags["sftlab.base_eval_key"]
    for key in ("acc", "acc_norm", "base_acc", "base_acc_stderr"):
        assert new.data.metrics[f"belebele/{key}"] == pytest.approx(old.data.metrics[f"belebele/{key}"]), key
    # The reused base was not evaluated again: its answers in the new table are the old run's.
    assert "eval/belebele_base_results.json" not in {
        a.path for a in mlflow_client.list_artifacts(new_id, "eval")
    }
    old_rows = _table(mlflow_client, run_id, "eval/belebele_samples.json", tmp_path / "old")
    new_rows = _table(mlflow_client, new_id, "eval/belebele_samples.json", tmp_path / "new")
    assert [r["base_choice"] for r in new_rows] == [r["base_choice"] for r in old_rows]
    assert [r["adapter_choice"] for r in new_rows] == [r["adapter_choice"] for r in old_rows]


def test_scores_equal_the_lm_eval_command_line(trained_run, cache_dir, mlflow_uri, mlflow_client, tmp_path):
    """Same model, adapter, data and settings through `lm_eval run` give the same scores.

    Unquantized (quantization=none): the lm_eval CLI cannot load 4-bit models on transformers 5.
    """
    run_id, adapter_dir = trained_run
    ours_dir = tmp_path / "ours"
    proc = _eval_cli(
        cache_dir,
        mlflow_uri,
        ours_dir,
        f"adapter={adapter_dir}",
        "quantization=none",
        "eval.evaluate_base=false",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ours = mlflow_client.get_run(proc.stdout.split("MLflow run: ")[1].split()[0])

    out = tmp_path / "cli"
    cli = [
        sys.executable, "-m", "lm_eval", "run",
        "--model", "hf",
        "--model_args", f"pretrained={cache_dir}/models/tiny_llama,peft={adapter_dir},dtype=float32",
        "--tasks", TASK,
        "--include_path", str(ours_dir / "lm_eval_tasks"),
        "--batch_size", "8", "--num_fewshot", "0", "--device", "cpu",
        "--output_path", str(out), "--log_samples",
    ]  # fmt: skip
    proc = subprocess.run(cli, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(next(out.rglob("results_*.json")).read_text())["results"][TASK]
    m = ours.data.metrics
    ours_rows = {
        r["doc_id"]: r
        for r in _table(mlflow_client, ours.info.run_id, "eval/belebele_samples.json", tmp_path)
    }
    assert _share(list(ours_rows.values()), "adapter") >= 0.9  # the adapter is really in play on both sides
    assert m["belebele/acc"] == result["acc,none"] and m["belebele/acc_norm"] == result["acc_norm,none"]
    assert m["belebele/acc_stderr"] == pytest.approx(result["acc_stderr,none"], rel=1e-9)
    assert m["belebele/acc_norm_stderr"] == pytest.approx(result["acc_norm_stderr,none"], rel=1e-9)

    # ...and question by question, down to the log-likelihood of every choice.
    cli_samples = [
        json.loads(line) for line in next(out.rglob(f"samples_{TASK}_*.jsonl")).read_text().splitlines()
    ]
    assert len(cli_samples) == len(ours_rows) == 80
    for s in cli_samples:
        lls = json.loads(ours_rows[s["doc_id"]]["adapter_loglikelihoods"])
        cli_lls = [float(r[0]) for r in s["filtered_resps"]]
        assert list(lls.values()) == pytest.approx(cli_lls, abs=1e-4), s["doc_id"]


def test_adapter_errors_are_one_line(trained_run, cache_dir, mlflow_uri, tmp_path):
    """A run id that does not exist, and an adapter on a model it was not trained for."""
    proc = _eval_cli(cache_dir, mlflow_uri, tmp_path / "a", "adapter=0123456789abcdef0123456789abcdef")
    assert proc.returncode == 2
    assert "error: adapter: no MLflow run '0123456789abcdef0123456789abcdef'" in proc.stderr, proc.stderr[
        -2000:
    ]
    assert "Traceback" not in proc.stderr

    _, adapter_dir = trained_run
    proc = _eval_cli(
        cache_dir,
        mlflow_uri,
        tmp_path / "b",
        f"adapter={adapter_dir}",
        "model=tiny_falcon",
        "quantization=none",
    )
    assert proc.returncode == 2
    assert "was trained on model=tiny_llama, not model=tiny_falcon; drop model=" in proc.stderr, proc.stderr[
        -2000:
    ]


def test_adapter_that_does_not_fit_the_architecture(trained_run, compose, tmp_path):
    """An adapter without sftlab's metadata, on a base with other modules: peft's error, one line."""
    import shutil

    from sftlab.config.errors import ConfigError
    from sftlab.evaluation.adapter_eval import attach_adapter
    from sftlab.model.loading import load_model, resolve_source

    _, adapter_dir = trained_run
    foreign = tmp_path / "foreign_adapter"
    shutil.copytree(adapter_dir, foreign)
    (foreign / "sftlab_model.json").unlink()
    cfg = compose("model=tiny_falcon", "quantization=none")
    base = load_model(cfg.model, resolve_source(cfg.model), None, "float32")
    with pytest.raises(
        ConfigError, match=r"adapter: .*foreign_adapter does not fit model 'tiny_falcon' \("
    ) as err:
        attach_adapter(base, str(foreign), "tiny_falcon")
    assert "\n" not in str(err.value)


def _run_lm_eval_cli(model_args, include_path, out, cwd):
    cli = [
        sys.executable, "-m", "lm_eval", "run",
        "--model", "hf", "--model_args", model_args,
        "--tasks", TASK, "--include_path", str(include_path),
        "--batch_size", "8", "--num_fewshot", "0", "--device", "cpu", "--output_path", str(out),
    ]  # fmt: skip
    proc = subprocess.run(cli, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(next(out.rglob("results_*.json")).read_text())["results"][TASK]


@pytest.mark.slow
def test_bare_base_model_scores_equal_the_lm_eval_command_line(
    cache_dir, mlflow_uri, mlflow_client, tmp_path
):
    """`sftlab eval` without an adapter scores the bare base; the CLI agrees (unquantized)."""
    ours_dir = tmp_path / "ours"
    proc = _eval_cli(cache_dir, mlflow_uri, ours_dir, "quantization=none", "eval.reuse_base_score=false")
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = mlflow_client.get_run(proc.stdout.split("MLflow run: ")[1].split()[0])
    assert "belebele/acc" not in run.data.metrics  # no adapter: only base_* scores
    cli = _run_lm_eval_cli(
        f"pretrained={cache_dir}/models/tiny_llama,dtype=float32",
        ours_dir / "lm_eval_tasks",
        tmp_path / "cli",
        tmp_path,
    )
    assert run.data.metrics["belebele/base_acc"] == cli["acc,none"]
    assert run.data.metrics["belebele/base_acc_norm"] == cli["acc_norm,none"]
    assert run.data.metrics["belebele/base_acc_stderr"] == pytest.approx(cli["acc_stderr,none"], rel=1e-9)
