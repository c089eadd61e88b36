"""The evaluation stage: the ``eval`` task (Belebele by default) with and without the adapter.

After training, the in-memory PeftModel is scored as is (``<prefix>/acc``, ``acc_norm`` and
their ``_stderr``) and with its adapter disabled, which is exactly the quantized base
(``<prefix>/base_*``), and the difference is logged (``<prefix>/delta_*``). The base score is
reused from MLflow when an earlier run already computed it (see :mod:`sftlab.evaluation.base_scores`).
Per-question answers of both go to one MLflow table (:mod:`sftlab.evaluation.samples_table`),
lm-eval's results JSON and the generated task YAML to artifacts under ``eval/``, and the
benchmark data to the run's dataset inputs (context ``evaluation``).
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class EvalSummary:
    """The scores one evaluation produced, for printing and for tests."""

    task: str
    adapter: dict[str, float] | None = None
    base: dict[str, float] | None = None
    base_source: str | None = None  # run id the base score came from (this run if computed here)
    base_reused: bool = False
    delta: dict[str, float] = field(default_factory=dict)
    paired: object | None = None  # sftlab.evaluation.paired.PairedResult, when both sides have rows
    synthetic: bool = False  # scored on a synthetic sample (eval.data.synthetic), not the benchmark
    chat: bool = False  # scored through the chat template (eval.chat_template)

    def line(self) -> str:
        """One human line: adapter vs base accuracy and the delta."""
        notes = ["chat template"] * self.chat + ["SYNTHETIC sample, not the benchmark"] * self.synthetic
        parts = [f"{self.task} ({'; '.join(notes)}):" if notes else f"{self.task}:"]
        if self.adapter is not None:
            parts.append(f"acc {self.adapter.get('acc', float('nan')):.3f} with the adapter")
        if self.base is not None:
            origin = f", reused from run {self.base_source}" if self.base_reused else ""
            parts.append(f"base acc {self.base.get('acc', float('nan')):.3f}{origin}")
        if "acc" in self.delta:
            parts.append(f"delta {self.delta['acc']:+.3f}")
        if self.paired is not None:
            p = self.paired
            parts.append(
                f"95% CI [{p.delta_acc_ci_low:+.3f}, {p.delta_acc_ci_high:+.3f}]"
                f"  flips +{p.flips_to_correct}/-{p.flips_to_wrong}  McNemar p={p.mcnemar_p:.3g}"
            )
        return "  ".join(parts)


def _log_outcome(tracker, prefix: str, kind: str, outcome, step: int | None = None) -> dict[str, float]:
    """Log one evaluation's metrics (``kind`` '' or 'base_') at ``step`` and results JSON."""
    tracker.log_metrics({f"{prefix}/{kind}{k}": v for k, v in outcome.metrics.items()}, step=step)
    tracker.log_metrics(
        {
            f"{prefix}/eval_{kind}questions_per_s": outcome.questions_per_s,
            f"{prefix}/eval_{kind}seconds": outcome.seconds,
        }
    )
    name = f"{prefix}_{kind}" if kind else f"{prefix}_"
    tracker.log_text(json.dumps(outcome.results, indent=2, ensure_ascii=False), f"eval/{name}results.json")
    return outcome.metrics


def _log_paired(tracker, prefix: str, ev, rows: list[dict]):
    """Paired statistics of adapter vs base (:mod:`sftlab.evaluation.paired`) and the flipped
    questions as ``eval/<prefix>_flips.json``; None when the rows lack either side."""
    from sftlab.evaluation.paired import FLIP_COLUMNS, flipped_rows, paired_result

    result = paired_result(rows, ev.confidence_level, ev.bootstrap_resamples, ev.bootstrap_seed)
    if result is None:
        return None
    tracker.log_metrics({f"{prefix}/{k}": v for k, v in result.metrics().items()})
    if getattr(tracker, "run_id", None):
        import mlflow
        import pandas as pd

        frame = pd.DataFrame(flipped_rows(rows), columns=FLIP_COLUMNS)
        mlflow.log_table(data=frame, artifact_file=f"eval/{prefix}_flips.json", run_id=tracker.run_id)
    return result


def _log_eval_input(tracker, spec, ev, results: dict) -> None:
    """The benchmark data as the run's ``evaluation`` dataset input: the local file, or the hub
    dataset lm-eval read (from the task config in its results)."""
    import hashlib

    from sftlab.track.datasets import log_dataset, source_of

    if spec.yaml_path:  # local data: the file sftlab checked and fingerprinted
        source = source_of(ev.data.path)
    else:
        conf = (results.get("configs") or {}).get(spec.run_name, {})
        source = source_of(hub_id=conf.get("dataset_path") or spec.task, config_name=conf.get("dataset_name"))
    digest = (
        spec.data_id
        if not spec.data_id.startswith("hub:")
        else hashlib.sha256(spec.data_id.encode()).hexdigest()
    )
    log_dataset(tracker, spec.task, digest, "evaluation", source)


def _precision(cfg) -> dict:
    from sftlab.model.precision import resolve_precision

    p = resolve_precision(cfg.model.dtype, cfg.quantization.bnb_4bit_compute_dtype, cfg.training.bf16)
    return {"model_dtype": p.model_dtype, "compute_dtype": p.compute_dtype}


def evaluate_and_log(
    cfg,
    tracker,
    model,
    tokenizer,
    work_dir,
    has_adapter: bool,
    precision=None,
    step: int | None = None,
    ev=None,
    control: bool = False,
) -> EvalSummary:
    """Score ``model`` (with its adapter, if any) and its base on ``ev`` (default ``cfg.eval``); log to
    ``tracker`` (the adapter's scores at ``step``: the last training step when they were also logged
    during training, so they stay the run's latest value).

    ``eval.chat_template`` picks the passes: plain (``<prefix>/``), through the chat template
    (``<prefix>_chat/``), or both; the first pass's summary is returned. ``control``: a second task of
    the same run (:mod:`sftlab.evaluation.control`), whose run tags carry the suffix ``.<prefix>`` so
    they do not overwrite the main task's.
    """
    from sftlab.evaluation.prompt_format import check_tokenizer, passes

    ev = cfg.eval if ev is None else ev
    chats = passes(ev)
    if any(chats):
        check_tokenizer(tokenizer, cfg.model.name)
    summaries = [
        _evaluate_pass(
            cfg, tracker, model, tokenizer, work_dir, has_adapter, precision, step, chat, i == 0, ev, control
        )
        for i, chat in enumerate(chats)
    ]
    return summaries[0]


def _evaluate_pass(
    cfg,
    tracker,
    model,
    tokenizer,
    work_dir,
    has_adapter: bool,
    precision,
    step,
    chat: bool,
    first: bool,
    ev,
    control,
) -> EvalSummary:
    """One pass of :func:`evaluate_and_log`: plain prompts, or (``chat``) the chat template under
    ``<prefix>_chat/`` with its own base-score cache tags (``sftlab.base_eval_key_chat``, ...)."""
    from sftlab.evaluation.base_scores import (
        KEY_TAG,
        REUSED_TAG,
        SOURCE_TAG,
        base_key,
        base_key_parts,
        device_type,
        find_cached,
    )
    from sftlab.evaluation.lm_eval_runner import make_lm, run_task
    from sftlab.evaluation.lm_eval_tasks import prepare_task, task_manager
    from sftlab.evaluation.prompt_format import CHAT_SUFFIX, pass_prefix
    from sftlab.evaluation.samples_table import base_rows_of, combined_rows, log_samples_table

    base_prefix = ev.metric_prefix or ev.task
    prefix = pass_prefix(base_prefix, chat)
    # Run tags are one value per name: the chat pass's base-score tags get a suffix beside the plain
    # pass's, and a control task's beside the main task's.
    task_sfx = f".{base_prefix}" if control else ""
    suffix = (CHAT_SUFFIX if chat else "") + task_sfx
    spec = prepare_task(ev, work_dir)
    if spec.yaml_path and first:
        tracker.log_artifact(spec.yaml_path, artifact_path="eval")
    synthetic = bool(ev.data.get("synthetic", False))
    tracker.set_tags(
        {
            f"eval.task{task_sfx}": spec.task,
            f"eval.data{task_sfx}": spec.data_id[:16],
            f"eval.synthetic{task_sfx}": str(synthetic).lower(),
        }
    )
    tm = task_manager(spec)
    lm = make_lm(model, tokenizer, ev.batch_size)
    summary = EvalSummary(task=spec.task, synthetic=synthetic, chat=chat)

    adapter_rows: list[dict] = []
    base_rows: list[dict] = []
    if has_adapter:
        log.info("Evaluating %s with the adapter", spec.task)
        outcome = run_task(lm, spec, ev, tm, ev.log_samples, chat=chat)
        summary.adapter, adapter_rows = _log_outcome(tracker, prefix, "", outcome, step), outcome.samples
        if first:
            _log_eval_input(tracker, spec, ev, outcome.results)

    if ev.evaluate_base or not has_adapter:
        parts = base_key_parts(
            cfg.model, cfg.quantization, precision or _precision(cfg), spec, ev, device_type(model)
        )
        if chat:  # the plain key stays as it was, so plain base scores cached earlier still count
            parts["chat_template"] = True
        key = base_key(parts)
        tracker.log_text(
            json.dumps({"key": key, **parts}, indent=2, sort_keys=True, default=str),
            f"eval/{prefix}_base_key.json",
        )
        uri = cfg.logger.tracking_uri if cfg.logger.backend == "mlflow" else None
        cached = (
            find_cached(uri, key, prefix, exclude_run=tracker.run_id, tag_suffix=suffix)
            if (uri and ev.reuse_base_score)
            else None
        )
        if cached:
            run_id, metrics = cached
            log.info("Base score of %s reused from MLflow run %s", spec.task, run_id)
            tracker.log_metrics({f"{prefix}/base_{k}": v for k, v in metrics.items()})
            summary.base, summary.base_source, summary.base_reused = metrics, run_id, True
            if ev.log_samples:  # the base's answers, from the run that computed them
                base_rows = base_rows_of(uri, run_id, prefix)
            if not has_adapter and first:
                _log_eval_input(tracker, spec, ev, {})
        else:
            log.info("Evaluating %s on the base model (adapter disabled)", spec.task)
            no_adapter = model.disable_adapter() if has_adapter else contextlib.nullcontext()
            with no_adapter:
                outcome = run_task(lm, spec, ev, tm, ev.log_samples, chat=chat)
            summary.base, base_rows = _log_outcome(tracker, prefix, "base_", outcome), outcome.samples
            summary.base_source = tracker.run_id
            if not has_adapter and first:
                _log_eval_input(tracker, spec, ev, outcome.results)
        tags = {KEY_TAG + suffix: key, REUSED_TAG + suffix: str(summary.base_reused).lower()}
        if summary.base_source:
            tags[SOURCE_TAG + suffix] = summary.base_source
        tracker.set_tags(tags)

    if summary.adapter is not None and summary.base is not None:
        summary.delta = {
            k: summary.adapter[k] - summary.base[k]
            for k in summary.adapter
            if k in summary.base and not k.endswith("stderr")
        }
        tracker.log_metrics({f"{prefix}/delta_{k}": v for k, v in summary.delta.items()})
    log_samples_table(tracker, prefix, adapter_rows, base_rows)  # both answers per question
    summary.paired = _log_paired(tracker, prefix, ev, combined_rows(adapter_rows, base_rows))
    print(summary.line(), flush=True)
    note = chance_note(cfg, ev) if first else None
    if note:
        print(note, flush=True)
    return summary


# The README demo that teaches a tiny model to answer D, so that its choices visibly move (the sample's
# answers are balanced over A-D: a tiny random model cannot learn them in a few dozen steps).
DEMO_COMMAND = (
    "python train.py dataset=belebele_letter_d model.prompt_format=plain training.max_steps=30 "
    "training.lr_scheduler_type=constant training.warmup_ratio=0"
)


def chance_note(cfg, ev) -> str | None:
    """For a tiny random stand-in on Belebele: say that its scores sit at chance, and what shows an effect."""
    if cfg.model.get("build") is None or not str(ev.task).startswith("belebele"):
        return None
    dataset = cfg.get("dataset")  # `sftlab eval` has no training data of its own
    if dataset is not None and dataset.name == "belebele_letter_d":  # the demo itself
        return None
    return (
        "  (a tiny random model sits near chance, 0.25 for 4 choices, with or without the adapter; "
        f"an adapter that visibly changes the choices: {DEMO_COMMAND})"
    )


def eval_stage(cfg, tracker, result) -> None:
    """Post-training stage: evaluate the trained adapter and its base (``eval=none`` skips it)."""
    if not cfg.eval.enabled:
        return
    from sftlab.evaluation.during_training import final_step

    step = final_step(cfg.eval, result.global_step)
    work_dir = Path(result.output_dir)
    evaluate_and_log(cfg, tracker, result.model, result.tokenizer, work_dir, has_adapter=True, step=step)
    evaluate_control(cfg, tracker, result.model, result.tokenizer, work_dir, has_adapter=True, step=step)


def evaluate_control(cfg, tracker, model, tokenizer, work_dir, has_adapter: bool, precision=None, step=None):
    """The English control (``eval.control``), in the same run under ``eval.control_prefix``; None if off."""
    from sftlab.evaluation.control import control_eval

    control = control_eval(cfg.eval)
    if control is None:
        return None
    return evaluate_and_log(
        cfg,
        tracker,
        model,
        tokenizer,
        work_dir,
        has_adapter,
        precision=precision,
        step=step,
        ev=control,
        control=True,
    )
