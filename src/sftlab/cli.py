"""Process-level behaviour of the entry points: one-line errors and exit codes."""

from __future__ import annotations

import logging
import sys

from sftlab.errors import SftlabError

log = logging.getLogger("sftlab")


def in_multirun() -> bool:
    """True inside a Hydra ``-m`` job, where an error must not stop the other jobs."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        return HydraConfig.get().mode == RunMode.MULTIRUN
    except (ImportError, ValueError):
        return False


def report_user_error(err: SftlabError) -> None:
    """Print ``error: <message>`` on one line; exit 2 in a single run, re-raise in a sweep."""
    message = f"error: {err}"
    log.error(message)
    if in_multirun():
        raise err
    print(message, file=sys.stderr, flush=True)
    sys.exit(2)
