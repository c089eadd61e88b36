"""Where things live: bundled assets and configs (inside the package), the local model cache."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
ASSETS_DIR = PACKAGE_DIR / "assets"
# The Hydra configs ship inside the package (the repo's conf/ links here), so every command
# finds them from any working directory and from a non-editable install alike.
CONF_DIR = PACKAGE_DIR / "conf"


def asset_path(relative: str) -> str:
    """Absolute path of a file bundled with the package, e.g. ``data/sample_es.jsonl``."""
    return str(ASSETS_DIR / relative)


def default_cache_dir() -> str:
    """Folder for locally built tiny models; ``SFTLAB_CACHE`` overrides ``~/.cache/sftlab``."""
    return os.environ.get("SFTLAB_CACHE") or str(Path.home() / ".cache" / "sftlab")
