"""python benchmarks/eval_throughput.py [--model tiny_llama] [--batch-sizes 1,8,32] [--repeat 5] [--threads N]   (make bench-eval)

Evaluation throughput (questions/s) of sftlab's eval stage next to the ``lm_eval`` command line,
on the same model, the same data (the bundled Belebele sample, repeated ``--repeat`` times so
that fixed costs do not dominate, through the same generated task YAML) and the same settings,
plus the speed-up batching gives our stage.

* ours: lm-eval's HFLM around the model already in memory (what the stage does after training);
  timed from simple_evaluate's start to its end, once per batch size.
* lm_eval CLI: ``lm_eval run --model hf --model_args pretrained=<folder>`` in a subprocess; timed
  as wall clock, as the total the CLI reports itself (``total_evaluation_time_seconds``: task
  indexing, model load and evaluation), and as its marginal cost per question (the reported total
  minus that of an 8-question run), which is what its evaluation loop itself costs.

The model is evaluated unquantized (quantization none): the CLI cannot load 4-bit models on
transformers 5 (its ``load_in_4bit`` model_args are gone), so that is the only like-for-like.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _compose(model: str, cache_dir: str | None):
    from hydra import compose, initialize_config_dir

    from sftlab.config.schema import register_configs

    register_configs()
    overrides = [f"model={model}", "quantization=none", "logger=none", "paths.output_dir=/tmp/unused"]
    if cache_dir:
        overrides.append(f"paths.cache_dir={cache_dir}")
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(config_name="train", overrides=overrides)


def _cli(
    source: str, spec, batch_size: int, limit, out_dir: Path, threads: int | None
) -> tuple[float, float]:
    """(wall seconds, lm-eval's own evaluation seconds) of one ``lm_eval run``."""
    cmd = [
        sys.executable, "-m", "lm_eval", "run",
        "--model", "hf",
        "--model_args", f"pretrained={source},dtype=float32",
        "--tasks", spec.run_name,
        "--include_path", spec.include_path[0],
        "--batch_size", str(batch_size),
        "--num_fewshot", "0",
        "--device", "cpu",
        "--output_path", str(out_dir),
    ]  # fmt: skip
    if limit:
        cmd += ["--limit", str(limit)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"lm_eval failed:\n{proc.stderr[-3000:]}")
    result = json.loads(max(out_dir.rglob("results_*.json"), key=lambda p: p.stat().st_mtime).read_text())
    return wall, float(result.get("total_evaluation_time_seconds", "nan"))


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny_llama")
    parser.add_argument("--batch-sizes", default="1,8,32", help="batch sizes of our stage")
    parser.add_argument("--cli-batch-size", type=int, default=8)
    parser.add_argument("--limit", type=int, default=None, help="first N questions (default: all)")
    parser.add_argument("--repeat", type=int, default=5, help="repeat the 80-question sample N times")
    parser.add_argument("--threads", type=int, default=None, help="torch/OMP threads for both sides")
    parser.add_argument("--cache-dir", default=None, help="where tiny models are built (SFTLAB_CACHE)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from sftlab.evaluation.lm_eval_runner import make_lm, run_task
    from sftlab.evaluation.lm_eval_tasks import prepare_task, task_manager
    from sftlab.model.loading import load_model, load_tokenizer, resolve_source

    cfg = _compose(args.model, args.cache_dir)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="sftlab-bench-"))
    source = resolve_source(cfg.model)
    tokenizer = load_tokenizer(cfg.model, source)
    model = load_model(cfg.model, source, None, "float32").eval()
    if args.repeat > 1:  # more questions, so fixed costs stop dominating the timings
        records = [
            json.loads(line) for line in Path(cfg.eval.data.path).read_text(encoding="utf-8").splitlines()
        ]
        repeated = work / f"belebele_x{args.repeat}.jsonl"
        with repeated.open("w", encoding="utf-8") as fh:
            for k in range(args.repeat):
                for r in records:
                    # A distinct question text per copy: lm-eval computes identical contexts once.
                    copy = {
                        **r,
                        "question": f"{r['question']} ({k + 1})",
                        "question_number": r["question_number"] + 10 * k,
                    }
                    fh.write(json.dumps(copy, ensure_ascii=False) + "\n")
        cfg.eval.data.path = str(repeated)
    spec = prepare_task(cfg.eval, work)
    tm = task_manager(spec)

    rows = []
    for bs in batch_sizes:
        cfg.eval.batch_size, cfg.eval.limit = bs, args.limit
        outcome = run_task(make_lm(model, tokenizer, bs), spec, cfg.eval, tm, log_samples=False)
        rows.append((f"sftlab stage (HFLM in memory), batch {bs}", outcome.n_questions, outcome.seconds))
    n = rows[-1][1]
    cb = args.cli_batch_size
    wall, total = _cli(source, spec, cb, args.limit, work / "cli", args.threads)
    rows.append((f"lm_eval CLI, batch {cb}: wall clock", n, wall))
    rows.append((f"lm_eval CLI, batch {cb}: its reported total", n, total))
    # The CLI's fixed cost (imports, indexing ~15k task YAMLs, model load) measured with a short run:
    # the difference is its per-question cost, the fair comparison with the in-memory stage.
    small = min(8, n - 1)
    _, total_small = _cli(source, spec, cb, small, work / "cli-small", args.threads)
    rows.append(
        (f"lm_eval CLI, batch {cb}: marginal (total - total@{small})", n - small, total - total_small)
    )

    print(
        f"\nEvaluation throughput: {spec.task} on {n} questions, model {cfg.model.name} "
        f"(fp32, CPU, threads={torch.get_num_threads()})"
    )
    print(f"{'':56s} {'questions':>9s} {'seconds':>8s} {'questions/s':>12s}")
    for name, count, secs in rows:
        print(f"{name:56s} {count:9d} {secs:8.2f} {count / secs:12.2f}")
    ours = dict(zip(batch_sizes, rows, strict=False))
    for bs in batch_sizes[1:]:
        lo = batch_sizes[0]
        print(f"batching speed-up of the stage, batch {bs} vs {lo}: {ours[lo][2] / ours[bs][2]:.2f}x")
    if cb in ours:
        print(f"stage vs lm_eval CLI wall clock, batch {cb}: {wall / ours[cb][2]:.1f}x less time")


if __name__ == "__main__":
    main()
