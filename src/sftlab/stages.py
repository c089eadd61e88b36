"""Stages that run after training, inside the same tracked run, on the in-memory model.

Each stage is a function ``stage(cfg, tracker, result) -> None`` that logs its own metrics
and artifacts. A stage decides from ``cfg`` whether it is enabled. The order of ``STAGES`` is
the order of the run (evaluation before judging, as in DESIGN.md's run flow).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


def _stages() -> list[Callable]:
    """The post-training stages, imported lazily so ``train.py`` starts fast."""
    from sftlab.evaluation.stage import eval_stage  # Belebele via lm-eval (off with eval=none)
    from sftlab.generate.handoff import handoff_stage  # model card; registry with logger.register_model
    from sftlab.judge.stage import judge_stage  # generation + rubric judging (off unless judge != none)

    # Evaluation before judging, as in DESIGN.md's run flow; the model card last, to hold both.
    return [eval_stage, judge_stage, handoff_stage]


# Stages that a config switches off, and how: announced only when they run.
_SKIPPED_WHEN = {
    "eval_stage": lambda cfg: not cfg.eval.enabled,
    "judge_stage": lambda cfg: cfg.judge.kind == "none" or not cfg.judge.stage_enabled,
}


def run_stages(cfg, tracker, result) -> None:
    """Run every post-training stage in order; an exception fails the run."""
    for stage in _stages():
        skipped = _SKIPPED_WHEN.get(stage.__name__, lambda cfg: False)(cfg)
        if not skipped:
            log.info("Stage %s", stage.__module__)
        stage(cfg, tracker, result)
