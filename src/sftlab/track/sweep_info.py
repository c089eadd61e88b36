"""A sweep's shared record on disk: ``<sweep dir>/.sftlab/sweep.json`` and the job files beside it.

The sweep's parent MLflow run id is published there so that every job (in-process, joblib
workers, submitit processes, SLURM nodes) can attach its run to the parent, and the report can
find a sweep from its folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

STATE_DIR = ".sftlab"
SWEEP_FILE = "sweep.json"


def sweep_dir_of(hydra_cfg) -> Path:
    """The sweep folder as an absolute path (jobs may run with another working directory)."""
    path = Path(hydra_cfg.sweep.dir)
    if not path.is_absolute():
        path = Path(hydra_cfg.runtime.cwd) / path
    return path.resolve()


def read_sweep_info(sweep_dir: str | Path) -> dict | None:
    """The sweep's ``sweep.json`` (parent run id, tracking URI, experiment), or None."""
    path = Path(sweep_dir) / STATE_DIR / SWEEP_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)
