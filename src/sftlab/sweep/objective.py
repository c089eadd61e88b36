"""What a sweep optimises: ``sweep.objective`` (any logged metric) in ``sweep.direction``.

``python train.py`` returns this value to Hydra's sweepers (Optuna minimises or maximises it as
``hydra.sweeper.direction: ${sweep.direction}`` says), and the sweep's summary ranks the jobs by
it. The default is the held-out ``eval_loss``: the final *training* loss rewards memorising the
training set, which is the opposite of what a researcher tunes for.
"""

from __future__ import annotations

import logging
import math

from sftlab.config.errors import ConfigError

log = logging.getLogger(__name__)

DIRECTIONS = ("minimize", "maximize")
TRAIN_NAMES = ("eval_loss", "final_loss", "first_loss")  # short names of train/... metrics


def metric_key(objective: str) -> str:
    """The MLflow metric name of ``objective``: ``eval_loss`` -> ``train/eval_loss``; a name with a
    prefix (``belebele/acc``, ``judge/general_es/mean``) is used as written."""
    return f"train/{objective}" if "/" not in objective else objective


def check_objective(cfg, in_sweep: bool) -> None:
    """The direction is known and, in a sweep (``in_sweep``), the objective is a metric this config
    logs; a single run only warns, since nothing optimises its return value."""
    sweep = cfg.get("sweep")
    if sweep is None:
        return
    if sweep.direction not in DIRECTIONS:
        raise ConfigError(f"sweep.direction: '{sweep.direction}' is not one of minimize, maximize")
    try:
        _check_logged(cfg, sweep)
    except ConfigError as e:
        if in_sweep:
            raise
        log.info("%s (only matters in a sweep)", e)


def _check_logged(cfg, sweep) -> None:
    key = metric_key(sweep.objective)
    prefix = key.split("/", 1)[0]
    if key == "train/eval_loss" and cfg.dataset.eval_fraction <= 0:
        raise ConfigError(
            "sweep.objective=eval_loss needs a held-out split; set dataset.eval_fraction > 0 "
            "or choose another sweep.objective (e.g. final_loss)"
        )
    eval_prefix = (cfg.eval.metric_prefix or cfg.eval.task) if cfg.eval.enabled else None
    if prefix not in ("train", "judge", "human", "data", "preflight") and prefix != eval_prefix:
        raise ConfigError(
            f"sweep.objective={sweep.objective}: no metric under '{prefix}/' is logged by this config "
            f"(eval metric prefix: {eval_prefix or 'none, eval is off'})"
        )
    if prefix == "judge" and cfg.judge.kind in ("none", "human"):
        raise ConfigError(f"sweep.objective={sweep.objective} needs an automatic judge; set judge=...")


def objective_value(cfg, metrics: dict) -> float:
    """The objective's value in ``metrics`` (the run's logged metrics); NaN, with a warning, if absent."""
    sweep = cfg.get("sweep")
    key = metric_key(sweep.objective) if sweep is not None else "train/final_loss"
    value = metrics.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        log.warning("sweep.objective %s was not logged by this run; returning NaN", key)
        return float("nan")
    return float(value)


def best_index(values: list[float | None], direction: str) -> int | None:
    """Index of the best value (NaN/None ignored), or None when there is none."""
    ranked = [(v, i) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    if not ranked:
        return None
    return (min if direction == "minimize" else max)(ranked)[1]
