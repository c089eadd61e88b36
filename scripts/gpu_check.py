"""The CUDA path in one command, for a GPU owner: ``make gpu-check`` (or ``python scripts/gpu_check.py``).

Needs one CUDA GPU and the installed env; downloads nothing (tiny model built from a shipped
config, bundled data). Steps, each timed and marked pass/FAIL in one table:

1. the ``gpu``-marked tests (``pytest -m gpu``);
2. QLoRA training of the tiny LLaMA in 4-bit NF4 on CUDA (step time, tokens/s,
   ``torch.cuda.max_memory_allocated`` against the preflight's estimate for the same config);
3. the eval stage through lm-eval's HFLM, with and without the adapter;
4. contrastive-search generation (tokens/s);
5. the saved adapter reloaded on a fresh 4-bit base gives the same logits;
6. ``sftlab bench``'s speed levers on the tiny model (speed and final loss against plain TRL;
   levers whose package is missing are skipped with the reason), table printed after this one;
7. ``distributed=fsdp`` on 2 GPUs (torchrun, tiny model, a few steps); skipped with the reason on 1.

Exit code 0 when every step passes, 1 when one fails, 2 when there is no CUDA device (nothing is
measured then). Budget: well under 8 minutes on one GPU.

    python scripts/gpu_check.py [--steps 20] [--memory-tolerance 0.10] [--skip-tests] [--skip-bench]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass
class Row:
    """One line of the table."""

    step: str
    seconds: float
    figures: str
    ok: bool
    skipped: bool = False


def _timed(rows: list[Row], name: str, fn) -> object:
    """Run ``fn() -> (figures, ok, value)``; a raised error is a failed row with its last line."""
    started = time.perf_counter()
    try:
        figures, ok, value = fn()
    except Exception as e:  # a failing step must not hide the others
        traceback.print_exc()
        figures, ok, value = (
            f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:90] if str(e).strip() else ''}",
            False,
            None,
        )
    rows.append(Row(name, time.perf_counter() - started, figures, ok))
    return value


def _table(rows: list[Row], device: str) -> str:
    lines = [f"gpu-check on {device}", f"{'step':<22} {'time s':>8}  {'result':<6} figures", "-" * 100]
    lines += [
        f"{r.step:<22} {r.seconds:>8.1f}  {'skip' if r.skipped else 'pass' if r.ok else 'FAIL':<6} {r.figures}"
        for r in rows
    ]
    return "\n".join(lines)


def _compose(work: Path, *overrides: str):
    from sftlab.config.compose import compose

    return compose(
        "train",
        [
            f"paths.cache_dir={work / 'cache'}",
            f"paths.output_dir={work / 'out'}",
            "logger=none",
            *overrides,
        ],
    )


def _gpu_tests() -> tuple[str, bool, None]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-200:]
    if proc.returncode != 0:
        print(proc.stdout[-4000:], proc.stderr[-2000:], sep="\n")
    return tail[:90], proc.returncode == 0, None


def _train(work: Path, steps: int, tolerance: float):
    import torch

    from sftlab.data.lengths import summarize, token_lengths
    from sftlab.memory.preflight import plan
    from sftlab.model.quantization import quantized_linear_count
    from sftlab.pipeline import run

    cfg = _compose(
        work,
        "model=tiny_llama",
        "quantization=nf4",
        "eval=none",
        f"training.max_steps={steps}",
        "training.logging_steps=1",
        "preflight.device=cuda",
    )
    torch.cuda.reset_peak_memory_stats()
    result = run(cfg)
    m = result.metrics
    measured = torch.cuda.max_memory_allocated()
    # The same estimate the run printed, on the same data lengths; the CUDA context and the
    # allocator margin are outside max_memory_allocated, so they are left out of the comparison.
    lengths = summarize(token_lengths(_train_split(cfg), result.tokenizer))
    est = plan(cfg, lengths).estimate
    comparable = sum(t.bytes for t in est.terms if t.name not in ("CUDA context", "allocator margin"))
    ratio = measured / comparable
    quantized = quantized_linear_count(result.model)
    figures = (
        f"{m['train/seconds'] / steps * 1000:.0f} ms/step, {m['train/tokens_per_s']:.0f} tok/s, "
        f"peak {measured / 2**20:.1f} MiB vs est {comparable / 2**20:.1f} MiB (x{ratio:.2f}), "
        f"{quantized} 4-bit layers, loss {m['train/first_loss']:.2f}->{result.final_loss:.2f}"
    )
    ok = (
        next(result.model.parameters()).is_cuda
        and quantized > 0
        and result.final_loss < m["train/first_loss"]
        and abs(ratio - 1) <= tolerance
    )
    return figures, ok, (cfg, result)


def _train_split(cfg):
    from sftlab.data.loading import build_datasets

    train_ds, _ = build_datasets(cfg.dataset, cfg.model)
    return train_ds


def _eval(work: Path, trained):
    from sftlab.evaluation.stage import evaluate_and_log
    from sftlab.track.tracker import NullTracker

    cfg, result = trained
    cfg = _compose(work, "model=tiny_llama", "quantization=nf4", "eval=belebele", "eval.limit=40")
    cfg.eval.reuse_base_score = False
    summary = evaluate_and_log(
        cfg, NullTracker(), result.model, result.tokenizer, work / "eval", has_adapter=True
    )
    acc, base = (summary.adapter or {}).get("acc"), (summary.base or {}).get("acc")
    return (
        f"belebele acc {acc} with adapter, {base} base (40 questions, HFLM)",
        acc is not None and base is not None,
        None,
    )


def _contrastive(trained):
    import torch

    from sftlab.generate.contrastive import contrastive_search

    _, result = trained
    model, tok = result.model.eval(), result.tokenizer
    ids = tok(["[INST] ¿Cuál es la capital de Ecuador? [/INST]"], return_tensors="pt").input_ids.to(
        model.device
    )
    torch.cuda.synchronize()
    started = time.perf_counter()
    out = contrastive_search(model, ids, top_k=4, penalty_alpha=0.6, max_new_tokens=32)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    return f"{len(out)} tokens, {len(out) / seconds:.1f} tok/s (top_k=4, alpha=0.6)", len(out) > 0, None


def _reload(work: Path, trained):
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
        a = result.model.eval()(input_ids=ids).logits.float()
        b = reloaded(input_ids=ids).logits.float()
    diff = (a - b).abs().max().item()
    return f"max |logit diff| {diff:.2e} on {reloaded.device}", diff <= 1e-3, None


def _bench(steps: int):
    """The speed levers on the tiny model on this GPU; passes when every variant trained."""
    from sftlab.memory.benchmark import CPU_OVERRIDES, report, run_benchmark

    variants = run_benchmark(CPU_OVERRIDES, steps, 1, cuda=True, tiny=True)
    table = report(variants, "cuda")
    by = {v.name: v for v in variants}
    worst = max(abs(v.loss / by["plain TRL"].loss - 1) for v in variants if "packing" not in v.name)
    figures = (
        f"{len(variants)} variants; overhead {by['sftlab'].rate / by['plain TRL'].rate:.3f}; "
        f"largest unpacked |loss - plain| {worst:.2%} (table below)"
    )
    return figures, True, table


def _fsdp(work: Path, steps: int):
    """torchrun 2 ranks, distributed=fsdp, tiny model in NF4; passes when the adapter is saved."""
    import socket

    import torch

    if torch.cuda.device_count() < 2:
        return f"needs 2 GPUs ({torch.cuda.device_count()} present)", True, "skipped"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run_dir = work / "fsdp"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
        "--master_port", str(port), str(ROOT / "train.py"), "distributed=fsdp", "logger=none", "eval=none",
        f"paths.cache_dir={work / 'cache'}", f"hydra.run.dir={run_dir}", f"training.max_steps={steps}",
        "training.logging_steps=1", "dataset.max_records=64", "lora.r=4", "model.dtype=bfloat16",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    saved = (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    if proc.returncode != 0 or not saved:
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n")
    return f"2 ranks, exit {proc.returncode}, adapter saved: {saved}", proc.returncode == 0 and saved, None


def main(argv: list[str] | None = None) -> int:
    """Run the steps, print the table, return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="training steps (default 20)")
    parser.add_argument(
        "--memory-tolerance", type=float, default=0.10, help="|measured/estimate - 1| allowed"
    )
    parser.add_argument("--skip-tests", action="store_true", help="skip the pytest -m gpu step")
    parser.add_argument("--skip-bench", action="store_true", help="skip the speed-lever bench step")
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print(
            "gpu-check: no CUDA device on this machine (torch.cuda.is_available() is False; "
            f"torch {torch.__version__}, CUDA build {torch.version.cuda}); nothing was measured.",
            file=sys.stderr,
        )
        return 2
    device = f"{torch.cuda.get_device_name()} (capability {'.'.join(map(str, torch.cuda.get_device_capability()))})"
    rows: list[Row] = []
    started = time.perf_counter()
    if not args.skip_tests:
        _timed(rows, "pytest -m gpu", _gpu_tests)
    with tempfile.TemporaryDirectory(prefix="sftlab-gpu-check-") as tmp:
        work = Path(tmp)
        trained = _timed(
            rows, f"train nf4 ({args.steps} steps)", lambda: _train(work, args.steps, args.memory_tolerance)
        )
        if trained is not None:
            _timed(rows, "eval (HFLM) +/- adapter", lambda: _eval(work, trained))
            _timed(rows, "contrastive search", lambda: _contrastive(trained))
            _timed(rows, "adapter reload", lambda: _reload(work, trained))
        bench = None if args.skip_bench else _timed(rows, "bench speed levers", lambda: _bench(args.steps))
        if _timed(rows, "fsdp 2 GPUs", lambda: _fsdp(work, 3)) == "skipped":
            rows[-1].skipped = True
    print(_table(rows, device))
    if bench:
        print(bench)
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0 if rows and all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
