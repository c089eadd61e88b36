"""Facts about the running process that several layers need: Hydra's run mode and the DDP rank.

Both are read from the environment (Hydra's global state, torchrun's variables) and import
nothing heavy, so the tracker, the sweep bookkeeping and resume can ask without depending on
the packages that set them up.
"""

from __future__ import annotations

import os


def hydra_cfg():
    """Hydra's runtime config of the job running in this process, or None outside a Hydra app."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return HydraConfig.get()
    except (ImportError, ValueError):
        return None


def in_multirun() -> bool:
    """True inside a Hydra ``-m`` job, where an error must not stop the other jobs."""
    hc = hydra_cfg()
    if hc is None:
        return False
    from hydra.types import RunMode

    return hc.mode == RunMode.MULTIRUN


def rank() -> int:
    """The global rank set by torchrun/accelerate (``RANK``), 0 in a plain process."""
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    """How many processes train together (``WORLD_SIZE``), 1 in a plain process."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """True on rank 0 (and in any non-distributed run): the process that logs and saves."""
    return rank() == 0
