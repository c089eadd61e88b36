"""Metric names, grouped by prefix so the MLflow UI's sections read results first.

MLflow groups metrics (charts and the run page) by the part before the first ``/``. sftlab logs
results under the benchmark's prefix (``belebele/``, ``judge/``), the training curve and its
bookkeeping under ``train/``, data statistics under ``data/``, facts about the loaded model
under ``model/`` and the memory estimate under ``preflight/``. Names never hold a double underscore.
"""

from __future__ import annotations

import re

TRAIN = "train/"
LOSS = "train/loss"
EVAL_LOSS = "train/eval_loss"
FIRST_LOSS = "train/first_loss"
FINAL_LOSS = "train/final_loss"
LEARNING_RATE = "train/learning_rate"
GRAD_NORM = "train/grad_norm"
SECONDS = "train/seconds"
CPU_SECONDS = "train/cpu_seconds"
TOKENS = "train/tokens"
TOKENS_PER_S = "train/tokens_per_s"
PEAK_ALLOCATED_GIB = "train/peak_allocated_gib"
PEAK_RESERVED_GIB = "train/peak_reserved_gib"
TRAINABLE_PARAMS = "train/trainable_params"
TOTAL_PARAMS = "train/total_params"
# bitsandbytes layers of the loaded base (0 without quantization): proves a 4-bit run is 4-bit.
QUANTIZED_LINEAR_LAYERS = "model/quantized_linear_layers"

# transformers' end-of-training summary calls its mean loss "train_loss"; "train/loss" is the curve.
_SPECIAL = {"train_loss": "train/mean_loss"}


def train_metric(key: str) -> str:
    """A trainer log key as a ``train/`` metric: ``loss`` -> ``train/loss``,
    ``eval_loss`` -> ``train/eval_loss``, ``train_runtime`` -> ``train/runtime``."""
    if key.startswith(TRAIN):
        return key
    if key in _SPECIAL:
        return _SPECIAL[key]
    return TRAIN + (key[len("train_") :] if key.startswith("train_") else key)


def slug(name: str) -> str:
    """A metric-name part from free text: lowercase alphanumerics and single underscores."""
    return re.sub(r"_+", "_", "".join(c if c.isalnum() else "_" for c in name.lower())).strip("_")
