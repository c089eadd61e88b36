"""``sftlab bench``: sftlab's training against a plain TRL script with identical settings, and each
speed lever (packing, gradient checkpointing, FlashAttention-2, Liger) against the same plain run.

Every variant runs as its own process on the same data (so peak memory is per variant: peak
RSS on CPU, ``torch.cuda.max_memory_*`` on CUDA), alternating the variants ``repeats`` times
and keeping the median rate, because a shared machine's load drifts between runs. Rates are
real (non-padding) tokens per second of ``trainer.train()``: the "effective" tokens/s; tokens per
CPU-second of the process is also reported, as it moves less with other tenants' load. Each
variant's final training loss (same seed, same data) is held against the plain run's: a lever
that speeds up but changes the loss is not a free lever. Levers whose package or hardware is
missing are skipped with the reason printed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sftlab.track import metric_names as mn

# The plain TRL reference is a script of the repository (benchmarks/plain_trl_sft.py), outside the
# package on purpose: it must not import sftlab.
ROOT = Path(__file__).resolve().parents[3]

# The study's settings (r=256, alpha 256, dropout 0.2, micro-batch 4, max_length 512, gradient
# checkpointing, paged 8-bit AdamW, NF4) on LLaMA-2-7B's shapes with random weights.
CUDA_OVERRIDES = ["model=llama2_7b_chat", "training.max_length=512"]
# A tiny model and LoRA sized to it, so the figures measure the loop rather than the adapter.
CPU_OVERRIDES = ["lora.r=16", "lora.alpha=32", "lora.dropout=0.05", "training.gradient_checkpointing=false"]


@dataclass
class Variant:
    """One way of training: its command (without the per-run output paths) and its results."""

    name: str
    kind: str  # "sftlab" | "plain"
    args: list[str]
    rates: list[float] = field(default_factory=list)
    cpu_rates: list[float] = field(default_factory=list)  # tokens per CPU-second of the process
    peaks: list[float] = field(default_factory=list)  # GiB
    losses: list[float] = field(default_factory=list)  # final training loss of each run
    extra: dict = field(default_factory=dict)

    @property
    def loss(self) -> float:
        return statistics.median(self.losses) if self.losses else float("nan")

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def cpu_rate(self) -> float:
        return statistics.median(self.cpu_rates)

    @property
    def peak(self) -> float:
        return max(self.peaks)


def _run(cmd: list[str], log: Path, env: dict) -> tuple[int, float]:
    """Run ``cmd`` to completion; returns (exit status, peak RSS in GiB of that process)."""
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss * 1024 / 2**30  # ru_maxrss is KiB on Linux


def build_random_model(config_name: str, models_dir: Path) -> str:
    """A full-size model with random bf16 weights from a shipped config (no download), built once.

    The project's small tokenizer goes with it: its ids are valid for the 7B vocabulary, and the
    shapes (hence memory and speed) are exactly the 7B model's.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from sftlab.model.tiny import TOKENIZER_DIR, shipped_config_dict

    target = models_dir / f"random_{Path(config_name).stem}"
    if (target / "config.json").is_file():
        return str(target)
    values = shipped_config_dict(config_name)
    values.pop("architectures", None)
    config = AutoConfig.for_model(values.pop("model_type"), **values)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    partial = target.with_suffix(".partial")
    model.save_pretrained(str(partial))
    AutoTokenizer.from_pretrained(str(TOKENIZER_DIR)).save_pretrained(str(partial))
    os.replace(partial, target)
    return str(target)


def write_data(cfg, path: Path) -> None:
    """The configured dataset as prompt/completion JSONL, exactly as train.py formats it."""
    from sftlab.data.loading import build_datasets

    train_ds, _ = build_datasets(cfg.dataset, cfg.model)
    with open(path, "w") as f:
        for row in train_ds:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def plain_args(cfg, model_dir: str, data: Path, steps: int) -> list[str]:
    """The plain script's arguments for the same settings as ``cfg``."""
    t, lo = cfg.training, cfg.lora
    args = [
        str(ROOT / "benchmarks" / "plain_trl_sft.py"),
        f"--model={model_dir}",
        f"--data={data}",
        f"--steps={steps}",
        f"--r={lo.r}",
        f"--alpha={lo.alpha}",
        f"--dropout={lo.dropout}",
        f"--targets={','.join(lo.target_modules)}",
        f"--lr={t.learning_rate}",
        f"--batch={t.per_device_train_batch_size}",
        f"--grad-accum={t.gradient_accumulation_steps}",
        f"--max-length={t.max_length}",
        f"--dtype={cfg.model.dtype}",
        f"--seed={t.seed}",
    ]
    return args + (["--gradient-checkpointing"] if t.gradient_checkpointing else [])


def lever_variants(cuda: bool, gradient_checkpointing: bool) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """The speed levers this machine can measure, as (variant name, overrides), and why others are skipped.

    Packing (TRL's padding-free BFD path, per-record ``position_ids``) and gradient checkpointing
    (non-reentrant) run anywhere; FlashAttention-2 and Liger need their package and a GPU.
    """
    import importlib.util

    levers = [("sftlab packing", ["training.packing=true"])]
    gc = "off" if gradient_checkpointing else "on"
    levers.append(
        (f"sftlab grad-ckpt {gc}", [f"training.gradient_checkpointing={'true' if gc == 'on' else 'false'}"])
    )
    skipped = []
    if not cuda:
        skipped.append("flash_attention_2: needs a CUDA GPU (bench.cuda=true)")
    elif importlib.util.find_spec("flash_attn") is None:
        skipped.append("flash_attention_2: the flash_attn package is not installed (pip install flash-attn)")
    else:
        levers.append(("sftlab flash-attn-2", ["model.attn_implementation=flash_attention_2"]))
        levers.append(
            ("sftlab fa2 + packing", ["model.attn_implementation=flash_attention_2", "training.packing=true"])
        )
    if not cuda:
        skipped.append("liger: its Triton kernels need a CUDA GPU (bench.cuda=true)")
    elif importlib.util.find_spec("liger_kernel") is None:
        skipped.append("liger: the liger_kernel package is not installed (pip install liger-kernel)")
    else:
        levers.append(("sftlab liger", ["training.use_liger_kernel=true"]))
    return levers, skipped


def run_benchmark(
    overrides: list[str],
    steps: int,
    repeats: int,
    cuda: bool = False,
    threads: int | None = None,
    tiny: bool = False,
) -> list[Variant]:
    """Run every variant ``repeats`` times, alternating; returns them with their figures.

    ``cuda``: the GPU levers are measured; with ``tiny`` on the configured tiny model (``make
    gpu-check``: seconds), else on a 7B-shaped random model.

    ``threads`` pins the CPU threads of every variant (OMP/MKL): on a shared machine, idle
    OpenMP threads spin and bill CPU time that is not work, which blurs tokens per CPU-second.
    """
    from mlflow.tracking import MlflowClient

    from sftlab.config.compose import compose as compose_config
    from sftlab.model.loading import resolve_source

    work = Path(tempfile.mkdtemp(prefix="sftlab-bench-"))
    common = [
        f"training.max_steps={steps}",
        "training.logging_steps=5",
        "dataset.eval_fraction=0",
        "eval=none",  # only trainer.train() is timed; an evaluation per variant would only add waiting
        *overrides,
    ]
    cfg = compose_config("bench", ["paths.output_dir=.", "logger=none", *common])
    if cuda and not tiny:
        model_dir = build_random_model(cfg.model.architecture_config, Path(cfg.paths.cache_dir) / "models")
    else:
        model_dir = resolve_source(cfg.model)  # builds the tiny model once
    data = work / "data.jsonl"
    write_data(cfg, data)
    uri = f"sqlite:///{work / 'mlflow.db'}"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    pinned = [
        f"paths.cache_dir={cfg.paths.cache_dir}",
        f"model.name_or_path={model_dir}",
        f"logger.tracking_uri={uri}",
        "logger.experiment_name=benchmark",
        "logger.log_adapter=false",
    ]
    levers, skipped = lever_variants(cuda, bool(cfg.training.gradient_checkpointing))
    for reason in skipped:
        print(f"skipped lever {reason}", flush=True)
    variants = [
        Variant("sftlab", "sftlab", common + pinned + ["training.packing=false"]),
        Variant("plain TRL", "plain", plain_args(cfg, model_dir, data, steps)),
        *(
            Variant(name, "sftlab", common + pinned + ["training.packing=false", *extra])
            for name, extra in levers
        ),
    ]
    client = MlflowClient(tracking_uri=uri)
    for rep in range(repeats):
        for v in variants:
            tag = f"{v.name.replace(' ', '_').replace('.', '_')}-{rep}"
            log = work / f"{tag}.log"
            if v.kind == "sftlab":
                cmd = [
                    sys.executable,
                    "-m",
                    "sftlab",
                    "train",
                    *v.args,
                    f"hydra.run.dir={work / tag}",
                    f"logger.run_name={tag}",
                ]
            else:
                cmd = [sys.executable, *v.args]
            print(f"[{rep + 1}/{repeats}] {v.name} ...", flush=True)
            code, rss = _run(cmd, log, env)
            if code != 0:
                raise RuntimeError(f"{v.name} failed (exit {code}); see {log}")
            if v.kind == "sftlab":
                exp = client.get_experiment_by_name("benchmark")
                (run,) = client.search_runs([exp.experiment_id], f"tags.mlflow.runName = '{tag}'")
                m = run.data.metrics
                v.rates.append(m[mn.TOKENS_PER_S])
                v.cpu_rates.append(m[mn.TOKENS] / m[mn.CPU_SECONDS])
                v.extra = {k: m[k] for k in m if k.startswith(("preflight/", "data/tokens_", "train/peak"))}
                v.peaks.append(m.get(mn.PEAK_RESERVED_GIB, rss))
                v.losses.append(m[mn.FINAL_LOSS])
            else:
                line = next(x for x in log.read_text().splitlines() if x.startswith("BENCH "))
                res = json.loads(line[len("BENCH ") :])
                v.rates.append(res["tokens_per_s"])
                v.cpu_rates.append(res["tokens"] / res["cpu_seconds"])
                v.peaks.append(res.get("peak_reserved_gib", rss))
                if res.get("final_loss") is not None:
                    v.losses.append(res["final_loss"])
                v.extra = res
    return variants


def report(variants: list[Variant], device: str) -> str:
    """Side-by-side table: rate, speed and loss against plain TRL, peak memory; overhead and packing lines."""
    by = {v.name: v for v in variants}
    plain = by["plain TRL"]
    peak_name = "peak reserved GiB" if device == "cuda" else "peak RSS GiB"
    lines = [
        f"{'variant':<22} {'real tokens/s':>14} {'tokens/CPU-s':>13} {'speed vs plain':>15} "
        f"{'final loss':>11} {'loss vs plain':>14} {peak_name:>18}  runs (tokens/s; tokens/CPU-s)"
    ]
    for v in variants:
        runs = ", ".join(f"{r:.0f}" for r in v.rates) + "; " + ", ".join(f"{r:.0f}" for r in v.cpu_rates)
        rel = (v.loss - plain.loss) / plain.loss if plain.losses and v.losses else float("nan")
        lines.append(
            f"{v.name:<22} {v.rate:14.1f} {v.cpu_rate:13.1f} {v.rate / plain.rate:14.3f}x "
            f"{v.loss:11.4f} {rel:+14.2%} {v.peak:18.3f}  {runs}"
        )
    ours = by["sftlab"]
    ratio, cpu_ratio = ours.rate / plain.rate, ours.cpu_rate / plain.cpu_rate
    lines.append(
        f"framework overhead: sftlab / plain TRL = {ratio:.3f} wall, {cpu_ratio:.3f} per CPU-second "
        "(1.0 = none; target within 3%)"
    )
    if "sftlab packing" in by:
        packed = by["sftlab packing"]
        lines.append(
            f"packing speed-up (effective tokens/s): {packed.rate / ours.rate:.2f}x wall, "
            f"{packed.cpu_rate / ours.cpu_rate:.2f}x per CPU-second (packed batches differ: its loss is "
            "comparable, not equal)"
        )
    if device == "cuda" and "preflight/estimate_gib" in ours.extra:
        est = ours.extra["preflight/estimate_gib"] - ours.extra.get("preflight/cuda_context_gib", 0)
        meas = ours.extra.get(mn.PEAK_RESERVED_GIB, float("nan"))
        lines.append(
            f"peak memory: estimated {est:.2f} GiB (without CUDA context) vs measured reserved {meas:.2f} GiB "
            f"(allocated {ours.extra.get(mn.PEAK_ALLOCATED_GIB, float('nan')):.2f}); "
            f"error {(est / meas - 1) * 100:+.1f}% (target within 10%)"
        )
    return "\n".join(lines)


def main(overrides: list[str]) -> int:
    """``sftlab bench``: run the variants and print the table (``bench.*`` options, the rest goes to training)."""
    from sftlab.config.compose import compose as compose_config

    cfg = compose_config("bench", ["paths.output_dir=.", "logger=none", *overrides])  # bad keys fail here
    b = cfg.bench
    if b.cuda:
        import torch

        if not torch.cuda.is_available():
            from sftlab.config.errors import ConfigError

            raise ConfigError("bench.cuda=true needs a CUDA GPU; run without it for the CPU figures")
    training = [o for o in overrides if not o.lstrip("+~").startswith("bench.")]
    base = CUDA_OVERRIDES if b.cuda else CPU_OVERRIDES
    threads = b.threads if b.threads is not None else (None if b.cuda else 1)
    variants = run_benchmark(base + training, b.steps, b.repeats, cuda=b.cuda, threads=threads)
    print(report(variants, "cuda" if b.cuda else "cpu"))
    return 0
