"""The finished model's held-out metrics are computed once, not twice."""

from __future__ import annotations

from types import SimpleNamespace

from sftlab.train.trainer import final_eval_metrics


class _Trainer:
    def __init__(self, history, step):
        self.state = SimpleNamespace(log_history=history, global_step=step)
        self.evaluated = 0

    def evaluate(self):
        self.evaluated += 1
        return {"eval_loss": 1.0, "epoch": 2.0}


def test_the_trainers_own_evaluation_at_the_last_step_is_reused():
    history = [{"loss": 3.0, "step": 10}, {"eval_loss": 2.5, "eval_runtime": 0.1, "epoch": 1.0, "step": 12}]
    trainer = _Trainer(history, step=12)
    assert final_eval_metrics(trainer) == {"eval_loss": 2.5, "eval_runtime": 0.1, "epoch": 1.0}
    assert trainer.evaluated == 0


def test_an_earlier_or_missing_evaluation_means_a_fresh_one():
    earlier = _Trainer([{"eval_loss": 2.5, "step": 6}, {"loss": 2.0, "step": 12}], step=12)
    assert final_eval_metrics(earlier) == {"eval_loss": 1.0, "epoch": 2.0} and earlier.evaluated == 1
    none = _Trainer([{"loss": 2.0, "step": 12}], step=12)
    assert final_eval_metrics(none)["eval_loss"] == 1.0 and none.evaluated == 1
