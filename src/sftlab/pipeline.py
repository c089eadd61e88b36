"""One training job, start to end: validate, load, train, save, record, return the objective.

``run(cfg)`` is what ``python train.py`` calls for every (sweep) job. Everything the job does
happens inside one tracked run, so any failure marks that run FAILED with its error and an
interrupt marks it KILLED; it is never left RUNNING.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from sftlab.config.keys import check_composed
from sftlab.config.runtime import is_main_process
from sftlab.config.schema import RunConfig
from sftlab.config.secrets import config_yaml
from sftlab.stages import run_stages
from sftlab.sweep.jobs import child_tags, skip_if_done
from sftlab.track import metric_names as mn
from sftlab.track.naming import OVERRIDES_TAG, job_overrides, run_name
from sftlab.track.run_card import finish_run
from sftlab.track.tracker import closes_run, config_hash, flatten, git_commit, make_tracker, run_page_url
from sftlab.train.distributed import check as check_distributed
from sftlab.train.distributed import full_adapter_state, is_fsdp
from sftlab.train.distributed import tags as distributed_tags
from sftlab.train.result import RunResult
from sftlab.train.resume import find_resume_point, resumed_tags, run_tags, unfinished_hint
from sftlab.validation import check_values

log = logging.getLogger(__name__)


def _tags(cfg: DictConfig, resolved: dict) -> dict[str, str]:
    return {
        "model": cfg.model.name,
        "dataset": cfg.dataset.name,
        "quantization": cfg.quantization.name,
        "config_hash": config_hash(resolved),
        "git_commit": git_commit(str(Path(__file__).resolve().parent)),
        "sftlab.stage": "train",
        OVERRIDES_TAG: job_overrides(),  # the run name holds a short form of it
    }


def _losses(log_history: list[dict]) -> list[float]:
    losses = [float(h["loss"]) for h in log_history if "loss" in h]
    if not losses:
        raise RuntimeError("training logged no loss; lower training.logging_steps below the number of steps")
    return losses


def _save_adapter(
    model, tokenizer, cfg: DictConfig, output_dir: Path, adapter_state: dict | None = None
) -> Path:
    """Save adapter + tokenizer atomically: a crash leaves no folder that looks complete.

    ``adapter_state``: the adapter tensors gathered from the ranks (FSDP), else read from ``model``.
    """
    final = output_dir / "adapter"
    tmp = output_dir / "adapter.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    # Pass the adapter tensors explicitly: on CPU, bitsandbytes 0.50's state_dict() of a 4-bit
    # model rewrites the packed base weights in place, so the in-memory model would silently
    # stop matching the saved adapter (and every later stage of this process would see it).
    if adapter_state is None:
        adapter_state = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    model.save_pretrained(str(tmp), state_dict=adapter_state, safe_serialization=True)
    tokenizer.save_pretrained(str(tmp))
    (tmp / "sftlab_model.json").write_text(
        json.dumps(
            {
                "base_model": cfg.model.name,
                "name_or_path": cfg.model.name_or_path,
                "prompt_format": cfg.model.prompt_format,
                "quantization": cfg.quantization.name,
            },
            indent=2,
        )
    )
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return final


def _preflight(cfg: DictConfig, tracker, train_ds, tokenizer):
    """Token lengths of the data, then the memory preflight; returns the packing block (or None)."""
    from sftlab.data.lengths import pack_length, summarize, token_lengths
    from sftlab.memory.judge_fit import check_judge_fits
    from sftlab.memory.preflight import check

    lengths = summarize(token_lengths(train_ds, tokenizer))
    tracker.log_metrics(lengths.as_metrics())
    block = pack_length(lengths, cfg.training.max_length) if cfg.training.packing else None
    if block:
        log.info(
            "Packing into blocks of %d tokens (longest record %d, mean %.0f)",
            block,
            lengths.max,
            lengths.mean,
        )
    check(cfg, lengths, tracker)
    check_judge_fits(cfg, tracker)  # judge=hf_local: the judge loads after the trained model is freed
    return block


def _throughput(trainer, seconds: float) -> dict:
    """Real (non-padding) tokens trained and their rate."""
    import torch

    tokens = int(getattr(trainer.state, "num_input_tokens_seen", 0) or 0)
    out = {mn.TOKENS: tokens, mn.TOKENS_PER_S: tokens / seconds if seconds > 0 else 0.0}
    if torch.cuda.is_available():  # measured peak, to hold against preflight's estimate
        out[mn.PEAK_ALLOCATED_GIB] = torch.cuda.max_memory_allocated() / 2**30
        out[mn.PEAK_RESERVED_GIB] = torch.cuda.max_memory_reserved() / 2**30
    return out


def _train(cfg: DictConfig, tracker, output_dir: Path, resume_from: Path | None = None) -> RunResult:
    """The work of a job, inside an open tracked run (``resume_from``: checkpoint to continue)."""
    from sftlab.config.runtime import in_multirun
    from sftlab.data.loading import build_datasets
    from sftlab.evaluation.during_training import eval_during_training_callback
    from sftlab.model.adapters import build_lora_config
    from sftlab.model.loading import load_model, load_tokenizer, resolve_source
    from sftlab.model.precision import resolve_precision
    from sftlab.model.quantization import build_bnb_config, quantized_linear_count
    from sftlab.sweep.objective import check_objective
    from sftlab.track.datasets import log_training_data
    from sftlab.track.plots import loss_curve
    from sftlab.train.distributed import fsdp_training_args, layer_classes
    from sftlab.train.trainer import (
        ADAPTER_DTYPE,
        build_sft_config,
        build_trainer,
        final_eval_metrics,
        metrics_callback,
        prepare_peft_model,
    )
    from sftlab.validation import validate

    validate(cfg)
    check_objective(cfg, in_sweep=in_multirun())  # a sweep must not optimise a metric nobody logs
    # Data errors surface before weights; stats, data_hash and any leak report go to the run.
    judged = list(cfg.judge.suites) if cfg.judge.kind != "none" else []  # leak-checked too
    train_ds, eval_ds = build_datasets(cfg.dataset, cfg.model, tracker, extra_suites=judged)
    log.info("Data: %d train / %d eval records (%s)", len(train_ds), len(eval_ds or []), cfg.dataset.name)
    tracker.log_metrics({"data/train_records": len(train_ds), "data/eval_records": len(eval_ds or [])})
    log_training_data(tracker, cfg.dataset, train_ds, eval_ds)  # the UI's Datasets column

    precision = resolve_precision(cfg.model.dtype, cfg.quantization.bnb_4bit_compute_dtype, cfg.training.bf16)
    if precision.note:
        tracker.set_tags({"precision_note": precision.note})
    sharded = is_fsdp(cfg)  # FSDP: 4-bit storage in the compute dtype, no device_map, FSDP's checkpointing
    bnb = build_bnb_config(cfg.quantization, precision.compute_dtype, sharded=sharded)
    lora_config = build_lora_config(cfg.lora)

    source = resolve_source(cfg.model)
    tokenizer = load_tokenizer(cfg.model, source)
    block = _preflight(cfg, tracker, train_ds, tokenizer)  # memory check before any weight
    log.info("Loading %s from %s (quantization=%s)", cfg.model.name, source, cfg.quantization.name)
    model = load_model(cfg.model, source, bnb, precision.model_dtype, sharded=sharded)
    tracker.log_metrics({mn.QUANTIZED_LINEAR_LAYERS: quantized_linear_count(model)})
    model = prepare_peft_model(
        model, lora_config, bnb is not None, cfg.training.gradient_checkpointing and not sharded
    )
    trainable, total = model.get_nb_trainable_parameters()
    tracker.log_metrics({mn.TRAINABLE_PARAMS: trainable, mn.TOTAL_PARAMS: total})

    sft_config = build_sft_config(
        cfg.training,
        str(output_dir / "checkpoints"),
        precision,
        eval_ds is not None,
        block,
        fsdp_training_args(cfg.distributed, cfg.training.gradient_checkpointing, layer_classes(model)),
    )
    callbacks = [metrics_callback(tracker)]
    scorer = eval_during_training_callback(cfg, tracker, tokenizer, output_dir)  # eval.every_n_steps
    if scorer is not None:
        callbacks.append(scorer)
    trainer = build_trainer(model, tokenizer, train_ds, eval_ds, sft_config, callbacks)
    tracker.set_tags({"adapter_dtype": ADAPTER_DTYPE})  # fp32 master weights, even under QLoRA
    started, cpu_started = time.perf_counter(), time.process_time()
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    train_seconds = time.perf_counter() - started
    metrics = {
        mn.SECONDS: train_seconds,
        mn.CPU_SECONDS: time.process_time() - cpu_started,
        **_throughput(trainer, train_seconds),
    }
    if eval_ds is not None:
        metrics.update(
            {
                mn.train_metric(k): float(v)
                for k, v in final_eval_metrics(trainer).items()
                if isinstance(v, (int, float))
            }
        )
    losses = _losses(trainer.state.log_history)
    final_loss = losses[-1]
    metrics[mn.FINAL_LOSS] = final_loss
    tracker.log_metrics(metrics, step=trainer.state.global_step)
    tracker.log_metrics({mn.FIRST_LOSS: losses[0]}, step=0)  # where the curve starts, not where it ends
    metrics[mn.FIRST_LOSS] = losses[0]

    # FSDP: every rank takes part in gathering the sharded adapter; rank 0 writes it.
    adapter_state = full_adapter_state(trainer.model) if sharded else None
    if not is_main_process():  # DDP/FSDP (torchrun): rank 0 alone saves and records
        return RunResult(final_loss, None, "", str(output_dir), metrics)
    adapter_dir = _save_adapter(trainer.model, tokenizer, cfg, output_dir, adapter_state)
    plot = loss_curve(trainer.state.log_history, output_dir / "loss_curve.png", title=run_name(cfg))
    if plot:
        tracker.log_artifact(plot, artifact_path="plots")
    if cfg.logger.log_adapter:
        tracker.log_artifacts(adapter_dir, artifact_path="adapter")
    # A sharded model is no whole model for later in-process stages (FSDP runs eval=none judge=none).
    model = None if sharded else trainer.model
    return RunResult(
        final_loss,
        tracker.run_id,
        str(adapter_dir),
        str(output_dir),
        metrics,
        model,
        tokenizer,
        global_step=trainer.state.global_step,
    )


def run(cfg: DictConfig) -> RunResult:
    """Run one job in its own tracked run; the run ends FINISHED, FAILED or KILLED."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    resolved = OmegaConf.to_container(cfg, resolve=True)
    output_dir = Path(cfg.paths.output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "config.yaml").write_text(config_yaml(resolved))  # secrets masked

    check_composed(cfg, RunConfig)  # a sweep job's own values, before its run opens
    check_values(cfg)
    check_distributed(cfg)  # fsdp with int8, one process, or stages needing the whole model
    tracker = make_tracker(cfg.logger)  # an unreachable store fails here, before any loading
    done = skip_if_done(cfg, resolved)  # sweeps: this config already has a FINISHED run
    if done is not None:
        return done
    point = find_resume_point(cfg, resolved)  # resume=true: the unfinished run to continue
    hint = unfinished_hint(cfg, resolved) if point is None else None
    if hint:  # a killed run of this config could go on from its checkpoint
        print(hint, flush=True)
    if point is None:
        tags = {**_tags(cfg, resolved), **child_tags(), **distributed_tags(cfg), **run_tags(output_dir)}
        tracker.start(run_name(cfg, tags["config_hash"]), flatten(resolved), tags)
    else:  # same run, same folder (checkpoints, adapter); this process's own folder stays unused
        output_dir = point.output_dir
        cfg.paths.output_dir = str(output_dir)
        tracker.reopen(point.run_id, {**child_tags(), **distributed_tags(cfg), **resumed_tags(point)})
    with closes_run(tracker):
        if point is None:
            tracker.log_artifact(output_dir / "config.yaml")
        result = _train(cfg, tracker, output_dir, resume_from=point.checkpoint if point else None)
        if is_main_process():
            run_stages(cfg, tracker, result)
            finish_run(tracker, title=run_name(cfg))  # base-vs-adapter chart + the result card
            logged = tracker.get_run()  # the stages' metrics too (belebele/acc, judge/...), for the objective
            if logged is not None:
                result.metrics = {**logged.data.metrics, **result.metrics}
    return result


def summary(result: RunResult, cfg: DictConfig) -> str:
    """The few lines printed at the end of ``python train.py``."""
    if not is_main_process():
        return f"final training loss: {result.final_loss:.4f} (rank 0 saves the adapter and logs the run)"
    lines = [f"final training loss: {result.final_loss:.4f}", f"adapter: {result.adapter_dir}"]
    if result.run_id:
        uri = cfg.logger.tracking_uri
        lines.append(f"MLflow run: {result.run_id} (experiment '{cfg.logger.experiment_name}')")
        if not uri.startswith(("http://", "https://")):
            lines.append(f"open the UI: mlflow ui --backend-store-uri {uri} --host 127.0.0.1   (or: make ui)")
        url = run_page_url(uri, result.run_id)
        if url:
            lines.append(f"run page: {url}")
    return "\n".join(lines)


def main(cfg: DictConfig) -> float:
    """``sftlab train``: run the job, print its summary, return ``sweep.objective`` for sweepers."""
    from sftlab.sweep.objective import objective_value

    result = run(cfg)
    print(summary(result, cfg), flush=True)
    return objective_value(cfg, result.metrics)
