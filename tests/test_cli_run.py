"""``python train.py`` end to end through the real command line and a real MLflow store."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_train_records_a_complete_mlflow_run(trained_tiny, tmp_path):
    """The shared run (tests/conftest.py: `python train.py` with bf16 asked on a CPU without it)."""
    proc_stdout, run, mlflow_client = trained_tiny.stdout, trained_tiny.run, trained_tiny.client
    assert "final training loss:" in proc_stdout and "mlflow ui --backend-store-uri" in proc_stdout

    assert run.info.status == "FINISHED"
    assert run.data.params["lora.r"] == "4"
    assert run.data.params["model.name"] == "tiny_llama"
    assert run.data.params["quantization.bnb_4bit_quant_type"] == "nf4"
    tags = run.data.tags
    assert tags["model"] == "tiny_llama" and tags["dataset"] == "alpaca_dolly_es_sample"
    assert tags["quantization"] == "nf4"
    assert len(tags["config_hash"]) == 16 and tags["git_commit"]
    assert "bf16" in tags["precision_note"]  # no bf16 on this CPU: it fell back and said so

    history = mlflow_client.get_metric_history(run.info.run_id, "train/loss")
    assert [m.step for m in history] == [2, 4, 6]
    m = run.data.metrics
    assert {"train/learning_rate", "train/grad_norm", "train/final_loss", "train/eval_loss"} <= set(m)
    assert m["train/final_loss"] == history[-1].value
    first = mlflow_client.get_metric_history(run.info.run_id, "train/first_loss")
    assert [(p.step, p.value) for p in first] == [(0, history[0].value)]  # where the curve starts
    # Results, training, data and memory estimate each under their prefix; no double underscore.
    assert all(k.split("/")[0] in {"belebele", "train", "data", "preflight", "model"} for k in m), sorted(m)
    assert m["model/quantized_linear_layers"] == 14  # every projection of the 2-layer LLaMA is 4-bit
    assert not [k for k in m if "__" in k]

    artifacts = {a.path for a in mlflow_client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "adapter", "plots"} <= artifacts
    adapter_files = {Path(a.path).name for a in mlflow_client.list_artifacts(run.info.run_id, "adapter")}
    assert {"adapter_model.safetensors", "adapter_config.json", "tokenizer.json"} <= adapter_files
    assert {a.path for a in mlflow_client.list_artifacts(run.info.run_id, "plots")} == {
        "plots/loss_curve.png",
        "plots/base_vs_adapter.png",
    }
    local = mlflow_client.download_artifacts(run.info.run_id, "plots/loss_curve.png", str(tmp_path))
    assert Path(local).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ctrl_c_marks_the_run_killed(cache_dir, mlflow_uri, runs_of, tmp_path):
    exp = "cli-killed"
    cmd = [
        sys.executable,
        str(ROOT / "train.py"),
        f"logger.tracking_uri={mlflow_uri}",
        f"logger.experiment_name={exp}",
        f"paths.cache_dir={cache_dir}",
        f"hydra.run.dir={tmp_path}",
        "training.max_steps=100000",
        "training.logging_steps=1",
    ]
    # Ctrl-C as a terminal sends it: default SIGINT handling in the child even when this test runs
    # under a shell that ignores SIGINT (a background `cmd &` job inherits SIGINT ignored).
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.time() + 240
        while time.time() < deadline:
            runs = runs_of(exp)
            if runs and "train/loss" in runs[0].data.metrics:  # training has started
                break
            assert proc.poll() is None, proc.stderr.read()[-2000:]
            time.sleep(1)
        else:
            raise AssertionError("training never started")
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    (run,) = runs_of(exp)
    assert run.info.status == "KILLED"
    assert "Ctrl-C" in run.data.tags["error"]
