"""The run folder must be writable before Hydra makes it: a read-only or full disk is one line.

Hydra creates ``hydra.run.dir`` (or the sweep folder) and writes ``.hydra/`` before the job's
function runs, so a read-only or full file system would end in Hydra's traceback. This callback
(``hydra.callbacks.output_folder`` in ``conf/train.yaml``) checks first; failures later in the
job (a checkpoint on a disk that fills up) are turned into the same line by the CLI.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
from pathlib import Path

from hydra.experimental.callback import Callback

from sftlab.config.errors import storage_error_line


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def storage_problem(folder: str | Path, min_free_mb: float) -> str | None:
    """``error: ...`` when ``folder`` cannot be created/written or has under ``min_free_mb`` free."""
    target = Path(folder).expanduser().absolute()
    probe = _nearest_existing(target)
    read_only = bool(os.statvfs(probe).f_flag & os.ST_RDONLY) or not os.access(probe, os.W_OK)
    if read_only:
        code = errno.EROFS if os.statvfs(probe).f_flag & os.ST_RDONLY else errno.EACCES
        return storage_error_line(OSError(code, os.strerror(code), str(target / "x")))
    if shutil.disk_usage(probe).free < min_free_mb * 2**20:
        return storage_error_line(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target / "x")))
    return None


class OutputFolderCheck(Callback):
    """Hydra callback: stop with one line (exit 2) before a run or sweep folder that cannot be written."""

    def __init__(self, min_free_mb: float = 200.0) -> None:
        """``min_free_mb``: less free space than this is treated as a full disk."""
        self.min_free_mb = min_free_mb

    def _check(self, folder) -> None:
        line = storage_problem(str(folder), self.min_free_mb)
        if line:
            print(line, file=sys.stderr, flush=True)
            sys.exit(2)

    def on_run_start(self, config, **kwargs) -> None:
        """Single run: ``hydra.run.dir``."""
        self._check(config.hydra.run.dir)

    def on_multirun_start(self, config, **kwargs) -> None:
        """Sweep: ``hydra.sweep.dir``."""
        self._check(config.hydra.sweep.dir)
