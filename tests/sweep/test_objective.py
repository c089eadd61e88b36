"""sweep.objective / sweep.direction: which metric a sweep optimises, checked before training."""

from __future__ import annotations

import math

import pytest

from sftlab.config.errors import ConfigError
from sftlab.sweep.objective import best_index, check_objective, metric_key, objective_value


def test_short_names_are_train_metrics_and_prefixed_names_stay():
    assert metric_key("eval_loss") == "train/eval_loss"
    assert metric_key("belebele/acc") == "belebele/acc"


def test_the_default_objective_is_the_held_out_loss(compose):
    cfg = compose()
    assert (cfg.sweep.objective, cfg.sweep.direction) == ("eval_loss", "minimize")
    metrics = {"train/eval_loss": 1.5, "train/final_loss": 0.2, "belebele/acc": 0.4}
    assert objective_value(cfg, metrics) == 1.5
    assert objective_value(compose("sweep.objective=belebele/acc"), metrics) == 0.4
    assert math.isnan(objective_value(compose("sweep.objective=judge/general_es/mean"), metrics))


def test_a_sweep_on_a_metric_nobody_logs_fails_before_training(compose):
    check_objective(compose(), in_sweep=True)
    check_objective(compose("sweep.objective=belebele/acc", "sweep.direction=maximize"), in_sweep=True)
    with pytest.raises(ConfigError, match="sweep.direction: 'up'"):
        check_objective(compose("sweep.direction=up"), in_sweep=False)
    with pytest.raises(ConfigError, match="dataset.eval_fraction > 0"):
        check_objective(compose("dataset.eval_fraction=0"), in_sweep=True)
    with pytest.raises(ConfigError, match="no metric under 'belebele/'"):
        check_objective(compose("sweep.objective=belebele/acc", "eval=none"), in_sweep=True)
    with pytest.raises(ConfigError, match="needs an automatic judge"):
        check_objective(compose("sweep.objective=judge/general_es/mean"), in_sweep=True)
    check_objective(compose("dataset.eval_fraction=0"), in_sweep=False)  # a single run goes on


def test_best_follows_the_direction_and_ignores_missing():
    values = [0.5, None, float("nan"), 0.2, 0.9]
    assert best_index(values, "minimize") == 3
    assert best_index(values, "maximize") == 4
    assert best_index([None], "minimize") is None
