"""Checkpoints and ``resume=true``: a SIGKILLed job continues into the same MLflow run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# 12 steps, a checkpoint every 3: the kill lands after the first checkpoint with steps to spare,
# and the resumed attempt still saves enough checkpoints for save_total_limit to rotate some out.
MAX_STEPS = 12
SAVE_STEPS = 3
# logging every step, so the loss history shows exactly which steps each attempt trained.
TRAIN = [
    f"training.max_steps={MAX_STEPS}",
    "training.save_checkpoints=true",
    f"training.save_steps={SAVE_STEPS}",
    "training.save_total_limit=2",
    "training.logging_steps=1",
    "lora.r=8",  # small and short: the test is about resuming, not about learning
    "training.max_length=128",
]


def _cmd(mlflow_uri, cache_dir, run_dir, *overrides):
    return [
        sys.executable,
        str(ROOT / "train.py"),
        f"logger.tracking_uri={mlflow_uri}",
        f"paths.cache_dir={cache_dir}",
        f"hydra.run.dir={run_dir}",
        f"paths.outputs_root={Path(run_dir).parent}",  # the runs live in the test's folder
        *overrides,
    ]


def test_checkpoint_save_leaves_a_4bit_model_unchanged(compose, tmp_path):
    """Saving a checkpoint mid-training must not touch the packed 4-bit base (bnb 0.50 on CPU)."""
    import torch

    from sftlab.data.loading import build_datasets
    from sftlab.model.adapters import build_lora_config
    from sftlab.model.loading import load_model, load_tokenizer, resolve_source
    from sftlab.model.precision import resolve_precision
    from sftlab.model.quantization import build_bnb_config
    from sftlab.track.tracker import NullTracker
    from sftlab.train.checkpoints import last_checkpoint
    from sftlab.train.trainer import build_sft_config, build_trainer, prepare_peft_model

    cfg = compose("model=tiny_llama", "quantization=nf4", "training.save_checkpoints=true")
    train_ds, _ = build_datasets(cfg.dataset, cfg.model, NullTracker())
    p = resolve_precision(cfg.model.dtype, cfg.quantization.bnb_4bit_compute_dtype, None)
    source = resolve_source(cfg.model)
    tokenizer = load_tokenizer(cfg.model, source)
    base = load_model(cfg.model, source, build_bnb_config(cfg.quantization, p.compute_dtype), p.model_dtype)
    model = prepare_peft_model(base, build_lora_config(cfg.lora), True, True)
    args = build_sft_config(cfg.training, str(tmp_path / "out" / "checkpoints"), p, False)
    trainer = build_trainer(model, tokenizer, train_ds, None, args, [])
    trainer.create_optimizer_and_scheduler(num_training_steps=2)

    ids = tokenizer(["¿Cuál es la capital de Ecuador?"], return_tensors="pt").input_ids.to(model.device)
    model.eval()
    with torch.no_grad():
        before = model(input_ids=ids).logits
    trainer._save_checkpoint(model, None)  # what trainer.train() calls every save_steps
    with torch.no_grad():
        after = model(input_ids=ids).logits
    assert torch.equal(before, after), (before - after).abs().max()

    checkpoint = last_checkpoint(tmp_path / "out")
    assert checkpoint is not None and checkpoint.name == "checkpoint-0"
    names = {f.name for f in checkpoint.iterdir()}
    assert {"adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth"} <= names
    from safetensors.torch import load_file

    saved = load_file(str(checkpoint / "adapter_model.safetensors"))
    assert saved and all("lora_" in k for k in saved)  # the adapter only, not the base


def test_last_checkpoint_ignores_a_cut_off_save(tmp_path):
    from sftlab.train.checkpoints import last_checkpoint

    root = tmp_path / "checkpoints"
    for step, complete in [(10, True), (20, True), (30, False)]:
        folder = root / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    (root / "checkpoint-x").mkdir()
    assert last_checkpoint(tmp_path).name == "checkpoint-20"
    assert last_checkpoint(tmp_path / "nowhere") is None


def test_sigkill_then_resume_continues_the_same_run(
    cache_dir, mlflow_uri, mlflow_client, runs_of, tmp_path, compose, capsys
):
    exp = "resume-sigkill"
    overrides = [f"logger.experiment_name={exp}", *TRAIN]
    first_dir = tmp_path / "first"
    proc = subprocess.Popen(
        _cmd(mlflow_uri, cache_dir, first_dir, *overrides),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            if list((first_dir / "checkpoints").glob("checkpoint-*/trainer_state.json")):
                break
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            time.sleep(0.05)
        else:
            raise AssertionError("no checkpoint was written")
        os.kill(proc.pid, signal.SIGKILL)  # no handler runs: the run is left RUNNING
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    (stuck,) = runs_of(exp)
    run_id = stuck.info.run_id
    assert stuck.info.status == "RUNNING"
    assert stuck.data.tags["sftlab.output_dir"] == str(first_dir.resolve())
    assert not (first_dir / "adapter").exists()
    before = mlflow_client.get_metric_history(run_id, "train/loss")
    last_logged = max(m.step for m in before)
    assert last_logged < MAX_STEPS
    from sftlab.train.checkpoints import checkpoint_step, last_checkpoint

    resume_step = checkpoint_step(last_checkpoint(first_dir))

    # Any command that opens the store reaps the zombie: the process is gone, the run is KILLED.
    # (`sftlab runs reap` in-process: the same entry point, without a second interpreter's imports)
    from sftlab import cli

    capsys.readouterr()
    assert cli.main(["runs", "reap", f"logger.tracking_uri={mlflow_uri}"]) == 0
    assert f"KILLED {run_id}: process {proc.pid} on " in capsys.readouterr().out
    (reaped,) = runs_of(exp)
    assert reaped.info.status == "KILLED"
    assert reaped.data.tags["error"].startswith(f"reaped by `sftlab runs reap`: process {proc.pid} on ")

    # A plain rerun of the same config says, in one line, that the killed run can go on.
    from omegaconf import OmegaConf

    from sftlab.train.resume import unfinished_hint

    cfg = compose(*overrides)
    cfg.logger.tracking_uri = mlflow_uri
    hint = unfinished_hint(cfg, OmegaConf.to_container(cfg, resolve=True))
    assert hint is not None and "\n" not in hint
    assert f"run {run_id} of this config ended KILLED with a checkpoint at step {resume_step}" in hint
    assert hint.endswith("resume=true")

    # Same overrides plus resume=true, another Hydra folder: the run itself says where to go on.
    second_dir = tmp_path / "second"
    again = subprocess.run(
        _cmd(mlflow_uri, cache_dir, second_dir, *overrides, "resume=true"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resume: continuing KILLED run {run_id}" in again.stdout
    assert f"checkpoint-{resume_step} (step {resume_step})" in again.stdout

    (run,) = runs_of(exp)  # no second run
    assert run.info.run_id == run_id and run.info.status == "FINISHED"
    assert "error" not in run.data.tags
    assert run.data.tags["sftlab.resumed_from"] == f"checkpoint-{resume_step} (KILLED)"

    history = mlflow_client.get_metric_history(run_id, "train/loss")
    cutoff = max(m.timestamp for m in before)
    resumed = sorted(m.step for m in history if m.timestamp > cutoff)
    # The resumed attempt trains exactly the steps after the checkpoint, up to the last one.
    assert resumed == list(range(resume_step + 1, MAX_STEPS + 1)), resumed
    assert {m.step for m in history} == set(range(1, MAX_STEPS + 1))
    assert run.data.metrics["train/final_loss"] == [m for m in history if m.step == MAX_STEPS][-1].value

    adapter_files = {Path(a.path).name for a in mlflow_client.list_artifacts(run_id, "adapter")}
    assert "adapter_model.safetensors" in adapter_files
    assert (first_dir / "adapter" / "adapter_model.safetensors").is_file()
    assert not (second_dir / "adapter").exists()
    # save_total_limit=2: older checkpoints were rotated out; the newest is the last step.
    left = sorted((first_dir / "checkpoints").glob("checkpoint-*"), key=lambda c: int(c.name.split("-")[1]))
    assert len(left) == 2 and left[-1].name == f"checkpoint-{MAX_STEPS}"
    assert json.loads((left[-1] / "trainer_state.json").read_text())["global_step"] == MAX_STEPS


def test_resume_with_nothing_to_resume_is_a_one_line_error(cache_dir, mlflow_uri, runs_of, tmp_path):
    exp = "resume-nothing"
    proc = subprocess.run(
        _cmd(mlflow_uri, cache_dir, tmp_path / "run", f"logger.experiment_name={exp}", *TRAIN, "resume=true"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert "resume=true" in line and "drop resume=true to start a fresh run" in line
    assert runs_of(exp) == []
