"""``eval.every_n_steps``: the eval task scored while training, logged against the optimizer step.

The decision (which steps, which step the final score lands on) is unit-tested; the callback runs
in-process on the tiny model (train mode and gradient checkpointing survive it); the shared
trained run (tests/conftest.py: ``eval.every_n_steps=2``, 6 steps) shows the MLflow history.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from omegaconf import OmegaConf

from sftlab.evaluation.during_training import due, every_n_steps, final_step


@pytest.mark.parametrize(
    ("interval", "max_steps", "scored"),
    [(2, 6, [2, 4]), (3, 10, [3, 6, 9]), (1, 3, [1, 2]), (0, 6, []), (4, 0, [4, 8])],
)
def test_steps_scored_during_training(interval, max_steps, scored):
    """Multiples of the interval, never the last step (the evaluation stage scores that one)."""
    assert [s for s in range(0, 11) if due(s, interval, max_steps)] == scored


def test_off_by_default_and_when_eval_is_off():
    on = OmegaConf.create({"enabled": True, "every_n_steps": 5})
    assert every_n_steps(on) == 5 and final_step(on, 40) == 40
    for cfg in ({"enabled": True, "every_n_steps": None}, {"enabled": True, "every_n_steps": 0},
                {"enabled": False, "every_n_steps": 5}):  # fmt: skip
        assert every_n_steps(OmegaConf.create(cfg)) == 0
        assert final_step(OmegaConf.create(cfg), 40) is None  # MLflow's default step, as before


def test_default_config_leaves_it_off_and_rejects_negative(compose):
    from sftlab.config.errors import ConfigError
    from sftlab.evaluation.lm_eval_tasks import check_settings

    assert compose().eval.every_n_steps is None
    with pytest.raises(ConfigError, match=r"eval\.every_n_steps must be > 0"):
        check_settings(compose("eval.every_n_steps=-1").eval)


class _Recorder:
    def __init__(self):
        self.logged: list[tuple[dict, int | None]] = []

    def log_metrics(self, metrics, step=None):
        self.logged.append((metrics, step))


def test_callback_scores_the_model_and_hands_it_back_to_training(compose, tmp_path):
    """On the tiny model with gradient checkpointing: the task's metrics at the step, eval.limit
    questions, then the model is in train mode with checkpointing on and gradients flow."""
    import torch

    from sftlab.evaluation.during_training import eval_during_training_callback
    from sftlab.model.adapters import build_lora_config
    from sftlab.model.loading import load_model, load_tokenizer, resolve_source
    from sftlab.train.trainer import prepare_peft_model

    cfg = compose("quantization=none", "eval.every_n_steps=2", "eval.limit=4")
    source = resolve_source(cfg.model)
    tokenizer = load_tokenizer(cfg.model, source)
    model = load_model(cfg.model, source, None, "float32")
    model.gradient_checkpointing_enable()
    model = prepare_peft_model(model, build_lora_config(cfg.lora), False, True)
    model.train()
    tracker = _Recorder()
    callback = eval_during_training_callback(cfg, tracker, tokenizer, tmp_path)
    state = SimpleNamespace(global_step=2, max_steps=6, is_world_process_zero=True)
    callback.on_step_end(None, state, None, model=model)
    state.global_step = 3  # not a multiple of 2
    callback.on_step_end(None, state, None, model=model)
    state.global_step = 6  # the last step: the evaluation stage's
    callback.on_step_end(None, state, None, model=model)

    assert callback.steps == [2]
    ((metrics, step),) = tracker.logged
    assert step == 2
    assert set(metrics) >= {"belebele/acc", "belebele/acc_norm"}
    assert metrics["belebele/acc"] in {0.0, 0.25, 0.5, 0.75, 1.0}  # 4 questions (eval.limit)
    assert model.training and model.base_model.model.is_gradient_checkpointing
    ids = tokenizer("hola mundo", return_tensors="pt")["input_ids"]
    model(input_ids=ids, labels=ids).loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads) and any(torch.any(g != 0) for g in grads)


def test_shared_run_logs_the_task_against_the_step(trained_tiny):
    """6 steps, every 2: belebele/acc at steps 2 and 4 from the callback, 6 from the evaluation
    stage, which stays the run's value (the latest step)."""
    assert "eval.every_n_steps=2" in trained_tiny.overrides
    run = trained_tiny.run
    history = trained_tiny.client.get_metric_history(run.info.run_id, "belebele/acc")
    assert sorted(m.step for m in history) == [2, 4, 6]
    (last,) = [m for m in history if m.step == 6]
    assert run.data.metrics["belebele/acc"] == last.value
    assert all(v.value in {i / 8 for i in range(9)} for v in history)  # eval.limit=8 questions
    base = trained_tiny.client.get_metric_history(run.info.run_id, "belebele/base_acc")
    assert [m.step for m in base] == [0]  # only the finished model's side is a curve
