"""Which process of a ``torchrun`` / ``accelerate launch`` job this is.

Under DDP every rank runs ``train.py`` and trains its shard of each batch; only rank 0 opens the
MLflow run, saves the adapter and runs the post-training stages, so one job is one run.
"""

from __future__ import annotations

import os


def rank() -> int:
    """The global rank set by torchrun/accelerate (``RANK``), 0 in a plain process."""
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """How many processes train together (``WORLD_SIZE``), 1 in a plain process."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True on rank 0 (and in any non-distributed run)."""
    return rank() == 0


def tags() -> dict[str, str]:
    """Run tags describing the process group (empty outside DDP)."""
    if world_size() <= 1:
        return {}
    return {"ddp.world_size": str(world_size())}
