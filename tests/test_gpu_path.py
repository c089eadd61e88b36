"""The CUDA path for real (``gpu``: skipped without CUDA): 4-bit training step, adapter reload,
the eval stage via HFLM, contrastive generation, and a 2-process DDP run when 2 GPUs exist.

Memory estimate vs measured peak: tests/memory/test_preflight.py; precision choice on the
present card: tests/model/test_precision.py. ``make gpu-check`` runs these and times the path.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gpu
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained(cache_dir, tmp_path_factory):
    """tiny LLaMA, NF4 QLoRA, 6 steps on cuda: ``(cfg, RunResult)``."""
    from sftlab.config.compose import compose
    from sftlab.pipeline import run

    out = tmp_path_factory.mktemp("gpu-run")
    cfg = compose(
        "train",
        [f"paths.cache_dir={cache_dir}", f"paths.output_dir={out}", "logger=none", "eval=none",
         "training.max_steps=6", "training.logging_steps=1"],
    )  # fmt: skip
    return cfg, run(cfg)


def test_4bit_training_step_runs_on_the_gpu(trained):
    import torch

    from sftlab.model.quantization import quantized_linear_count

    _, result = trained
    assert quantized_linear_count(result.model) == 14
    lora = [p for n, p in result.model.named_parameters() if p.requires_grad]
    assert lora and all(p.is_cuda and p.dtype == torch.float32 for p in lora)
    assert result.final_loss < result.metrics["train/first_loss"]
    assert result.metrics["train/peak_allocated_gib"] > 0


def test_adapter_reloads_to_the_same_logits_on_the_gpu(trained):
    import torch

    from sftlab.model.loading import load_adapter, load_model, resolve_source
    from sftlab.model.precision import resolve_precision
    from sftlab.model.quantization import build_bnb_config

    cfg, result = trained
    p = resolve_precision(cfg.model.dtype, cfg.quantization.bnb_4bit_compute_dtype, None)
    base = load_model(
        cfg.model,
        resolve_source(cfg.model),
        build_bnb_config(cfg.quantization, p.compute_dtype),
        p.model_dtype,
    )
    reloaded = load_adapter(base, result.adapter_dir).eval()
    ids = result.tokenizer(["¿Qué es el SRI?"], return_tensors="pt").input_ids.to(reloaded.device)
    with torch.no_grad():
        a, b = result.model.eval()(input_ids=ids).logits, reloaded(input_ids=ids).logits
    assert reloaded.device.type == "cuda" and torch.allclose(a.float(), b.float(), atol=1e-3)


def test_eval_stage_via_hflm_on_the_gpu(trained, cache_dir, tmp_path):
    from sftlab.config.compose import compose
    from sftlab.evaluation.stage import evaluate_and_log
    from sftlab.track.tracker import NullTracker

    _, result = trained
    cfg = compose(
        "train",
        [f"paths.cache_dir={cache_dir}", "logger=none", "eval.limit=16", "eval.reuse_base_score=false"],
    )
    summary = evaluate_and_log(cfg, NullTracker(), result.model, result.tokenizer, tmp_path, has_adapter=True)
    assert 0 <= summary.adapter["acc"] <= 1 and 0 <= summary.base["acc"] <= 1


def test_contrastive_generation_on_the_gpu(trained):
    from sftlab.generate.contrastive import contrastive_search

    _, result = trained
    tok = result.tokenizer
    ids = tok(["¿Cuál es la capital de Ecuador?"], return_tensors="pt").input_ids.to(result.model.device)
    assert (
        len(contrastive_search(result.model.eval(), ids, top_k=4, penalty_alpha=0.6, max_new_tokens=8)) == 8
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_qlora_on_two_gpus(cache_dir, tmp_path):
    """torchrun, 2 ranks, NCCL: each rank's 4-bit model on its own GPU (LOCAL_RANK)."""
    import torch

    if torch.cuda.device_count() < 2:
        pytest.skip("needs 2 CUDA GPUs")
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
        str(ROOT / "train.py"), "logger=none", f"paths.cache_dir={cache_dir}",
        f"hydra.run.dir={tmp_path / 'run'}", "training.max_steps=3", "training.logging_steps=1",
        "eval=none", "dataset.max_records=48", "lora.r=4",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").is_file()


def test_fsdp_qlora_on_two_gpus(cache_dir, tmp_path):
    """torchrun, 2 ranks, distributed=fsdp: 4-bit weights stored in bf16 and sharded, adapter gathered."""
    import torch

    if torch.cuda.device_count() < 2:
        pytest.skip("needs 2 CUDA GPUs")
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
        str(ROOT / "train.py"), "distributed=fsdp", "logger=none", f"paths.cache_dir={cache_dir}",
        f"hydra.run.dir={tmp_path / 'run'}", "training.max_steps=3", "training.logging_steps=1",
        "eval=none", "dataset.max_records=48", "lora.r=4", "model.dtype=bfloat16",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "non-floating frozen Params4bit" not in proc.stderr  # the 4-bit weights were sharded
    from safetensors.torch import load_file

    adapter = load_file(tmp_path / "run" / "adapter" / "adapter_model.safetensors")
    assert adapter and all(t.dtype == torch.float32 for t in adapter.values())
