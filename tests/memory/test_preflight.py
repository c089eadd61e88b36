"""Preflight through the real command line: an impossible run stops before loading, with the
breakdown and the settings that would fit; in a sweep only the jobs that cannot fit are rejected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sftlab.memory.estimate import GIB

# The study's training settings on the tiny model (its quick preset has batch 4, adamw_torch and
# no checkpointing): the scenarios below were built on them.
STUDY = [
    "training.optim=paged_adamw_8bit",
    "training.gradient_checkpointing=true",
]


@pytest.fixture
def tiny_budget(compose):
    """A budget (GiB) between the default tiny run's estimate at micro-batch 1 and 2."""
    from sftlab.data.lengths import summarize, token_lengths
    from sftlab.data.loading import build_datasets
    from sftlab.memory.preflight import plan
    from sftlab.model.loading import load_tokenizer, resolve_source

    totals = {}
    for b in (1, 2):
        cfg = compose(f"training.per_device_train_batch_size={b}", "preflight.device_memory_gb=1", *STUDY)
        train_ds, _ = build_datasets(cfg.dataset, cfg.model)
        lengths = summarize(token_lengths(train_ds, load_tokenizer(cfg.model, resolve_source(cfg.model))))
        totals[b] = plan(cfg, lengths).estimate.total
    return (totals[1] + totals[2]) / 2 / GIB


def test_impossible_run_stops_before_loading_with_breakdown_and_fix(train_cli, runs_of, tiny_budget):
    exp = "preflight-stop"
    proc = train_cli(
        f"logger.experiment_name={exp}",
        f"preflight.device_memory_gb={tiny_budget:.6f}",
        "training.per_device_train_batch_size=8",
        *STUDY,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    # The breakdown, every term, and the verdict are printed.
    for term in ("base weights (nf4)", "LoRA parameters", "LoRA gradients", "optimizer (paged_adamw_8bit)"):
        assert term in proc.stdout
    assert (
        "activations" in proc.stdout and "allocator margin" in proc.stdout and "does NOT fit" in proc.stdout
    )
    # One error line with the fix that keeps the effective batch (8 = 1 x 8).
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert line.startswith("error: preflight: estimated peak")
    assert "training.per_device_train_batch_size=1 training.gradient_accumulation_steps=8" in line
    assert "preflight.enforce=false" in line
    assert "Loading weights" not in proc.stderr  # stopped before any weight was read
    (run,) = runs_of(exp)
    assert run.info.status == "FAILED" and "preflight" in run.data.tags["error"]


def test_sweep_rejects_only_the_jobs_that_cannot_fit(train_cli, runs_of, tiny_budget, tmp_path):
    exp = "preflight-sweep"
    proc = train_cli(
        "hydra.mode=MULTIRUN",  # the fixture puts its overrides first, where argparse rejects -m
        f"logger.experiment_name={exp}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        f"preflight.device_memory_gb={tiny_budget:.6f}",
        "training.per_device_train_batch_size=8,1",
        "training.gradient_accumulation_steps=8",
        "training.max_steps=2",
        "training.logging_steps=1",
        "lora.r=8",
        "dataset.eval_fraction=0",
        "sweep.objective=final_loss",  # no held-out split, so the default eval_loss cannot be the objective
        *STUDY,
    )
    assert proc.returncode != 0  # Hydra's basic launcher reports the failed job at the end
    key = "training.per_device_train_batch_size"
    runs = {r.data.params[key]: r for r in runs_of(exp) if key in r.data.params}  # not the sweep's parent
    assert runs["1"].info.status == "FINISHED", proc.stderr[-3000:]
    assert runs["8"].info.status == "FAILED"
    assert re.search(r"preflight: estimated peak .* > budget", runs["8"].data.tags["error"])
    assert "train/loss" not in runs["8"].data.metrics  # rejected before training
    assert runs["1"].data.metrics["preflight/estimate_gib"] * GIB <= tiny_budget * GIB


def test_estimate_command_7b_models_on_a_16gb_card(capsys):
    """The standalone command: the study's three 7B models on a 16 GB card, from configs alone."""
    from sftlab.memory.estimate_cli import main

    models = "model=llama2_7b_chat,mistral_7b,falcon_7b"
    card = ["preflight.device=cuda", "preflight.device_memory_gb=16"]
    assert main([models, *card]) == 0
    out = capsys.readouterr().out
    assert out.count("memory estimate for") == 3 and out.count("  fits") == 6  # tables + summary
    assert "does NOT fit" not in out
    for name in ("llama2_7b_chat", "mistral_7b", "falcon_7b"):
        assert f"model={name}" in out

    # Without gradient checkpointing LLaMA-2 no longer fits; the fix keeps the effective batch of 4.
    assert main(["model=llama2_7b_chat", "training.gradient_checkpointing=false", *card]) == 1
    out = capsys.readouterr().out
    assert "does NOT fit" in out
    fix = re.search(r"try: (.*)", out).group(1)
    assert "training.gradient_checkpointing=true" in fix or (
        "training.per_device_train_batch_size=" in fix and "gradient_accumulation_steps=" in fix
    )


@pytest.mark.gpu
def test_7b_estimate_within_10_percent_of_measured_peak(train_cli, runs_of, tmp_path):
    """On a GPU: LLaMA-2-7B shapes (random weights) at r=256, measured peak vs the estimate."""
    from sftlab.config.paths import default_cache_dir
    from sftlab.memory.benchmark import build_random_model

    folder = build_random_model("llama2_7b_chat.json", Path(default_cache_dir()) / "models")
    exp = "preflight-gpu"
    proc = train_cli(
        "model=llama2_7b_chat",
        f"model.name_or_path={folder}",
        f"logger.experiment_name={exp}",
        "logger.log_adapter=false",
        "training.max_steps=5",
        "dataset.eval_fraction=0",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = runs_of(exp)[0].data.metrics
    estimate = m["preflight/estimate_gib"] - m["preflight/cuda_context_gib"]
    assert estimate == pytest.approx(m["train/peak_reserved_gib"], rel=0.10)


@pytest.mark.parametrize(
    "override, key",
    [
        ("preflight.allocator_margin=1.5", "preflight.allocator_margin"),
        ("preflight.device_memory_gb=-1", "preflight.device_memory_gb"),
        ("preflight.device=tpu", "preflight.device"),
        ("training.packing_strategy=wrapped", "training.packing_strategy"),
    ],
)
def test_bad_preflight_settings_are_one_line_errors(compose, override, key):
    from sftlab.config.errors import ConfigError
    from sftlab.memory.preflight import plan

    cfg = compose(override, "training.packing=true")
    with pytest.raises(ConfigError, match=key):
        plan(cfg)
