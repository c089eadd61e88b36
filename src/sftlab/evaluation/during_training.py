"""The ``eval`` task scored while training runs: ``eval.every_n_steps`` (issue 11, part 4).

The study saw Belebele fall after fine-tuning and could not say when. With ``eval.every_n_steps=N``
a TrainerCallback scores the model being trained every N optimizer steps, through the same lm-eval
path as the evaluation stage (same task, data, shots and ``eval.limit``), and logs the task's
metrics with ``step=`` the optimizer step (``belebele/acc`` at steps N, 2N, ...), so MLflow's
chart of ``belebele/acc`` shows accuracy against the step. The last step is left to the
evaluation stage, which logs its score at the final step (see :func:`final_step`), so the
curve ends at the score the run reports.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def every_n_steps(eval_cfg) -> int:
    """The interval in optimizer steps, 0 when evaluation during training is off."""
    if not eval_cfg.get("enabled", False):
        return 0
    return int(eval_cfg.get("every_n_steps") or 0)


def due(step: int, interval: int, max_steps: int) -> bool:
    """Whether step ``step`` is scored: a multiple of ``interval``, and not the last step
    (the evaluation stage scores the finished model)."""
    return interval > 0 and step > 0 and step % interval == 0 and not (max_steps and step >= max_steps)


def final_step(eval_cfg, global_step: int) -> int | None:
    """The step the evaluation stage logs its score at: the last optimizer step when the task was
    also scored during training (so MLflow's latest value is the finished model's, and the curve
    ends there), else None (MLflow's default step 0, as before)."""
    return global_step if every_n_steps(eval_cfg) > 0 else None


def eval_during_training_callback(cfg, tracker, tokenizer, work_dir):
    """A TrainerCallback that scores ``cfg.eval``'s task every ``eval.every_n_steps`` steps and
    logs ``<prefix>/<metric>`` at that step; None when ``eval.every_n_steps`` is 0/null or
    evaluation is off."""
    interval = every_n_steps(cfg.eval)
    if interval <= 0:
        return None
    from transformers import TrainerCallback

    from sftlab.evaluation.prompt_format import pass_prefix, passes

    ev = cfg.eval
    prefix = ev.metric_prefix or ev.task

    class _EvalDuringTraining(TrainerCallback):
        def __init__(self):
            self.spec = None
            self.tm = None
            self.steps: list[int] = []  # the steps scored, for the log and tests

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if not state.is_world_process_zero or not due(state.global_step, interval, state.max_steps):
                return control
            from sftlab.evaluation.lm_eval_runner import make_lm, run_task
            from sftlab.evaluation.lm_eval_tasks import prepare_task, task_manager

            if self.spec is None:  # once: the task YAML and lm-eval's task index
                self.spec = prepare_task(ev, work_dir)
                self.tm = task_manager(self.spec)
            was_training = model.training
            log.info("Evaluating %s at step %d", self.spec.task, state.global_step)
            metrics = {}
            try:
                # HFLM puts the model in eval mode (dropout off); gradient checkpointing only acts
                # in train mode, and lm-eval scores under no_grad, so nothing is recorded for backward.
                lm = make_lm(model, tokenizer, ev.batch_size)
                for chat in passes(ev):  # eval.chat_template: plain, chat template, or both
                    outcome = run_task(lm, self.spec, ev, self.tm, False, chat=chat)
                    metrics.update(
                        {f"{pass_prefix(prefix, chat)}/{k}": v for k, v in outcome.metrics.items()}
                    )
            finally:
                if was_training:
                    model.train()  # back to training: dropout and gradient checkpointing on again
            tracker.log_metrics(metrics, step=state.global_step)
            self.steps.append(state.global_step)
            return control

    return _EvalDuringTraining()
