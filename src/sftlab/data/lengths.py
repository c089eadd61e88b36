"""Token lengths of the training data: what preflight and packing size themselves from.

The peak memory of a padded micro-batch is set by its longest record, and the gain of packing
by how far the mean length is below it, so both are read from the data rather than assumed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class LengthStats:
    """Summary of the tokenized lengths (prompt + completion + EOS) of a dataset."""

    n: int
    mean: float
    p50: int
    p95: int
    max: int

    def as_metrics(self, prefix: str = "data/tokens_") -> dict[str, float]:
        """The stats as MLflow metrics."""
        return {f"{prefix}{k}": float(v) for k, v in vars(self).items()}


def token_lengths(dataset, tokenizer, batch_size: int = 1000) -> list[int]:
    """Tokenized length of every prompt/completion record, as TRL will build it (EOS appended)."""
    lengths: list[int] = []
    for start in range(0, len(dataset), batch_size):
        rows = dataset[start : start + batch_size]
        prompts = tokenizer(rows["prompt"])["input_ids"]
        completions = tokenizer(rows["completion"], add_special_tokens=False)["input_ids"]
        lengths.extend(len(p) + len(c) + 1 for p, c in zip(prompts, completions, strict=True))
    return lengths


def summarize(lengths: list[int]) -> LengthStats:
    """Mean, median, 95th percentile and maximum of ``lengths``."""
    ordered = sorted(lengths)

    def pct(q: float) -> int:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    return LengthStats(len(ordered), sum(ordered) / len(ordered), pct(0.5), pct(0.95), ordered[-1])


def padded_length(stats: LengthStats, max_length: int) -> int:
    """Longest row a padded micro-batch can have: the longest record, truncated at ``max_length``."""
    return min(max_length, stats.max)


def pack_length(stats: LengthStats, max_length: int, multiple: int = 8) -> int:
    """Block length for packing, chosen from the data.

    The longest record rounded up to ``multiple`` (capped at ``max_length``): no record is cut
    shorter than without packing, and a packed row needs no more memory than the worst padded
    row, while the block holds ~max/mean records instead of one.
    """
    return min(max_length, multiple * math.ceil(stats.max / multiple))
