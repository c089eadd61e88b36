"""Which process of a ``torchrun`` / ``accelerate launch`` job this is, as run tags.

Under DDP every rank runs the training job and trains its shard of each batch; only rank 0
opens the MLflow run, saves the adapter and runs the post-training stages, so one job is one
run. The rank itself is read in :mod:`sftlab.config.runtime`.
"""

from __future__ import annotations

from sftlab.config.runtime import world_size


def tags() -> dict[str, str]:
    """Run tags describing the process group (empty outside DDP)."""
    if world_size() <= 1:
        return {}
    return {"ddp.world_size": str(world_size())}
