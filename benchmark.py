"""python benchmark.py [--steps 30] [--repeats 2] [--threads 1] [--cuda] [overrides...]    (or: make bench)

Prints, side by side on the same data, the real (non-padding) tokens/s and peak memory of
train.py's training vs a minimal plain TRL script with identical settings (benchmarks/
plain_trl_sft.py: the framework's overhead) and of packing on vs off. CPU: the tiny LLaMA on
the bundled data. --cuda (needs a GPU): a LLaMA-2-7B-shaped model with random weights built from
the shipped config (no download) at the study's settings, with the preflight estimate against
the measured peak.
"""

import argparse

# The study's settings (r=256, alpha 256, dropout 0.2, micro-batch 4, max_length 512, gradient
# checkpointing, paged 8-bit AdamW, NF4) on LLaMA-2-7B's shapes with random weights.
CUDA_OVERRIDES = ["model=llama2_7b_chat", "training.max_length=512"]
CPU_OVERRIDES = ["lora.r=16", "lora.alpha=32", "lora.dropout=0.05", "training.gradient_checkpointing=false"]

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="train.py vs plain TRL, packing on vs off")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--cuda", action="store_true", help="7B-shaped random model on the GPU")
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads per variant (default: 1 on CPU, all on CUDA)"
    )
    parser.add_argument("overrides", nargs="*")
    a = parser.parse_args()
    from sftlab.benchmarking import report, run_benchmark

    if a.cuda:
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("--cuda needs a CUDA GPU")
    base = CUDA_OVERRIDES if a.cuda else CPU_OVERRIDES
    threads = a.threads if a.threads is not None else (None if a.cuda else 1)
    variants = run_benchmark(base + a.overrides, a.steps, a.repeats, cuda=a.cuda, threads=threads)
    print(report(variants, "cuda" if a.cuda else "cpu"))
