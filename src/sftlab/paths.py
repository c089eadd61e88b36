"""Where things live: bundled assets, the local cache for built models, the project root."""

from __future__ import annotations

import os
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent / "assets"


def asset_path(relative: str) -> str:
    """Absolute path of a file bundled with the package, e.g. ``data/sample_es.jsonl``."""
    return str(ASSETS_DIR / relative)


def default_cache_dir() -> str:
    """Folder for locally built tiny models; ``SFTLAB_CACHE`` overrides ``~/.cache/sftlab``."""
    return os.environ.get("SFTLAB_CACHE") or str(Path.home() / ".cache" / "sftlab")
