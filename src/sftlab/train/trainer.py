"""Training with TRL's SFTTrainer: the trainer arguments, the metric callback, the run."""

from __future__ import annotations

import logging
import math

from sftlab.model.precision import Precision

log = logging.getLogger(__name__)


def build_sft_config(
    train_cfg,
    output_dir: str,
    precision: Precision,
    has_eval: bool,
    max_length: int | None = None,
    distributed: dict | None = None,
):
    """``trl.SFTConfig`` from the ``training`` config group and the resolved precision.

    ``max_length`` replaces ``training.max_length`` (the packing block chosen from the data).
    ``distributed``: extra arguments (``fsdp``/``fsdp_config``, see
    :func:`sftlab.train.distributed.fsdp_training_args`), overriding the ones built here.
    With packing, TRL's BFD strategy is padding-free: records are concatenated without padding
    and carry their own ``position_ids``, from which transformers builds a block-diagonal mask
    (eager/sdpa) or varlen boundaries (flash attention), so attention stays within each record.
    """
    import torch
    from trl import SFTConfig

    quiet_known_warnings()
    packing = bool(train_cfg.get("packing", False))
    if packing and train_cfg.packing_strategy not in ("bfd", "bfd_split"):
        from sftlab.config.errors import ConfigError

        raise ConfigError(
            f"training.packing_strategy: '{train_cfg.packing_strategy}' is not bfd or bfd_split "
            "(TRL's 'wrapped' lets attention cross record boundaries)"
        )
    kwargs = dict(
        output_dir=output_dir,
        num_train_epochs=train_cfg.num_train_epochs,
        max_steps=train_cfg.max_steps,
        learning_rate=train_cfg.learning_rate,
        lr_scheduler_type=train_cfg.lr_scheduler_type,
        # transformers 5 dropped warmup_ratio; warmup_steps takes a float ratio instead.
        warmup_steps=float(train_cfg.warmup_ratio),
        optim=train_cfg.optim,
        weight_decay=train_cfg.weight_decay,
        max_grad_norm=train_cfg.max_grad_norm,
        per_device_train_batch_size=train_cfg.per_device_train_batch_size,
        per_device_eval_batch_size=train_cfg.per_device_eval_batch_size,
        gradient_accumulation_steps=train_cfg.gradient_accumulation_steps,
        gradient_checkpointing=train_cfg.gradient_checkpointing,
        gradient_checkpointing_kwargs=NON_REENTRANT if train_cfg.gradient_checkpointing else None,
        use_liger_kernel=bool(train_cfg.get("use_liger_kernel", False)),
        max_length=max_length or train_cfg.max_length,
        packing=packing,
        packing_strategy=train_cfg.get("packing_strategy", "bfd"),
        # Real (non-pad) tokens: padding-free batches have no padding, and their EOS equals the pad id.
        include_num_input_tokens_seen="all" if packing else "non_padding",
        logging_steps=logging_steps(train_cfg),
        seed=train_cfg.seed,
        data_seed=train_cfg.seed,
        bf16=precision.bf16,
        fp16=precision.fp16,
        use_cpu=not torch.cuda.is_available(),
        completion_only_loss=train_cfg.completion_only_loss,
        eval_strategy="epoch" if has_eval else "no",
        # Checkpoints (for resume=true) every save_steps optimizer steps, or each epoch with 0.
        save_strategy=_save_strategy(train_cfg),
        save_steps=train_cfg.save_steps if train_cfg.save_steps > 0 else 500,
        save_total_limit=train_cfg.save_total_limit if train_cfg.save_total_limit > 0 else None,
        report_to="none",  # metrics go through our callback into the run we opened
        disable_tqdm=False,
    )
    kwargs.update(distributed or {})
    return SFTConfig(**kwargs)


# Non-reentrant checkpointing: no input-grad hook needed for a frozen base, works with FSDP, and
# what transformers 5 picks anyway when the trainer enables it; pinned so peft's own call (which
# passes no use_reentrant) cannot leave the reentrant version in place.
NON_REENTRANT = {"use_reentrant": False}


def quiet_known_warnings() -> None:
    """Known noise: transformers 5 renames gradient_checkpointing (same behaviour; peft and TRL
    still use the old names), and bitsandbytes falls back from paged optimizers on CPU once per
    optimizer: said once per process is enough."""
    import warnings

    warnings.filterwarnings(
        "ignore", message=".*gradient_checkpointing.*is deprecated", category=FutureWarning
    )
    warnings.filterwarnings("once", message="Paged optimizers are not supported on CPU")


def logging_steps(train_cfg) -> int:
    """``training.logging_steps``, lowered to ``max_steps`` when fewer steps are asked for.

    A user asking for 3 steps with the default interval of 5 expects losses, not an empty
    curve; the last step is logged anyway (see :func:`metrics_callback`).
    """
    steps = int(train_cfg.logging_steps)
    return min(steps, int(train_cfg.max_steps)) if train_cfg.max_steps > 0 else steps


def _save_strategy(train_cfg) -> str:
    if not train_cfg.save_checkpoints:
        return "no"
    return "steps" if train_cfg.save_steps > 0 else "epoch"


def metrics_callback(tracker):
    """A TrainerCallback that logs every numeric training log entry to ``tracker`` as ``train/<key>``.

    The step is the global optimizer step, so loss, learning rate and grad norm line up in
    the MLflow UI. Only the main process logs (relevant under torchrun).
    """
    from transformers import TrainerCallback

    from sftlab.track.metric_names import train_metric

    class _MetricsToTracker(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            # The final step always logs its loss: the run's final_loss is the last step's,
            # whatever logging_steps is (transformers logs only every logging_steps steps).
            if state.max_steps and state.global_step >= state.max_steps:
                control.should_log = True
            return control

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            metrics = {
                train_metric(k): float(v)  # loss -> train/loss, eval_loss -> train/eval_loss
                for k, v in logs.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
            }
            if metrics:
                tracker.log_metrics(metrics, step=state.global_step)

    return _MetricsToTracker()


def prepare_peft_model(model, lora_config, quantized: bool, gradient_checkpointing: bool):
    """Wrap the base model with LoRA; k-bit preparation first when it is quantized."""
    from peft import get_peft_model, prepare_model_for_kbit_training

    quiet_known_warnings()
    if quantized:
        # Casts norms/embeddings to fp32 and enables input grads, as QLoRA needs.
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=gradient_checkpointing,
            gradient_checkpointing_kwargs=NON_REENTRANT,
        )
    return get_peft_model(model, lora_config)


def build_trainer(model, tokenizer, train_ds, eval_ds, sft_config, callbacks):
    """An SFTTrainer over prompt/completion datasets (loss on the completion only).

    Its checkpoints hold only the adapter tensors (see :mod:`sftlab.train.checkpoints`), so saving one
    never touches a 4-bit base being trained, and ``train(resume_from_checkpoint=...)`` reloads
    them into the LoRA layers.
    """
    from transformers.trainer_callback import ProgressCallback
    from trl import SFTTrainer

    from sftlab.train.checkpoints import adapter_checkpoint_trainer
    from sftlab.train.console import console_progress

    trainer = adapter_checkpoint_trainer(SFTTrainer)(
        model=model,
        args=sft_config,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    keep_adapter_fp32(trainer.model)
    trainer.remove_callback(ProgressCallback)  # its raw dicts break the bar; ours: postfix or lines
    trainer.add_callback(console_progress())
    return trainer


# Why fp32: TRL casts every trainable parameter of a quantized model to bf16, and the optimizer
# updates it in place with no fp32 master copy. Near 1/64 a bf16 weight's spacing is 6.1e-5, so
# an update of lr ~2e-5 (or the warm-up/cosine tail) rounds away for most LoRA entries. In fp32
# every update lands; autocast still runs the adapter matmuls in bf16/fp16 on a GPU, and fp16
# mixed precision needs fp32 trainable weights anyway (its grad scaler refuses fp16 grads).
ADAPTER_DTYPE = "float32"


def final_eval_metrics(trainer) -> dict:
    """The held-out metrics of the finished model: the trainer's own evaluation when it already ran
    one at the last step (``eval_strategy=epoch`` evaluates when training stops, also at ``max_steps``
    mid-epoch), else a fresh ``trainer.evaluate()``; the same numbers without a second pass."""
    last = next((h for h in reversed(trainer.state.log_history) if "eval_loss" in h), None)
    if last is not None and last.get("step") == trainer.state.global_step:
        return {k: v for k, v in last.items() if k != "step"}
    return trainer.evaluate()


def keep_adapter_fp32(model) -> int:
    """Cast ``model``'s trainable (adapter) parameters to fp32; returns how many were cast.

    Call it after the trainer is built (TRL's cast happens in its constructor) and before
    ``train()`` (the optimizer is created there, over these very tensors).
    """
    import torch

    cast = 0
    for param in model.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            param.data = param.data.to(torch.float32)
            cast += 1
    return cast
