"""Hub ids that cannot be loaded here, found in a second instead of a 50-second chained traceback.

A model or dataset given by hub id is usable when it is in the local Hugging Face cache or the
hub answers for it. Otherwise the run stops before Hydra makes a folder, with one line that
names the id and the fix: download it, point ``HF_HOME`` at a cache holding it, log in for a
gated model, or use a tiny stand-in. Nothing heavy is imported (no transformers, no datasets).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from sftlab.config.errors import ConfigError, DataError

_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def _offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on") for v in _OFFLINE_VARS)


def _hub_cache() -> Path:
    from huggingface_hub.constants import HF_HUB_CACHE

    return Path(HF_HUB_CACHE)


def is_cached(repo_id: str, repo_type: str = "model") -> bool:
    """Whether the hub cache holds a snapshot of ``repo_id`` (``models--org--name/snapshots/*``)."""
    folder = _hub_cache() / f"{repo_type}s--{repo_id.replace('/', '--')}" / "snapshots"
    return folder.is_dir() and any(folder.iterdir())


def _hub_status(repo_id: str, repo_type: str, timeout_s: float) -> int | None:
    """HTTP status of the hub's API for ``repo_id`` (with the user's token), None when unreachable."""
    from huggingface_hub import constants, get_token

    url = f"{constants.ENDPOINT}/api/{repo_type}s/{repo_id}"
    request = urllib.request.Request(url)
    token = get_token()
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:  # noqa: S310 - the HF hub
            json.load(resp)
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, TimeoutError, OSError, ValueError):
        return None


def check_model_id(model_cfg, tiny_option: str | None, timeout_s: float = 5.0) -> None:
    """ConfigError in one line when ``model.name_or_path`` is a hub id this machine cannot load."""
    repo_id = str(model_cfg.name_or_path)
    if model_cfg.get("build") is not None or Path(repo_id).expanduser().exists() or is_cached(repo_id):
        return
    tiny = f", or try model={tiny_option} (no download)" if tiny_option else ""
    how = f"download it first (huggingface-cli download {repo_id}) or set HF_HOME to a cache that holds it"
    if _offline():
        raise ConfigError(
            f"model.name_or_path: '{repo_id}' is not in the Hugging Face cache ({_hub_cache()}) and the hub "
            f"is off (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE); {how}{tiny}"
        )
    status = _hub_status(repo_id, "model", timeout_s)
    if status is None:
        raise ConfigError(
            f"model.name_or_path: '{repo_id}' is not cached and the hub is not reachable; {how}{tiny}"
        )
    if status in (401, 403):
        raise ConfigError(
            f"model.name_or_path: '{repo_id}' is gated; accept its licence on https://huggingface.co/{repo_id} "
            f"and log in (huggingface-cli login, or HF_TOKEN){tiny}"
        )
    if status == 404:
        raise ConfigError(
            f"model.name_or_path: '{repo_id}' does not exist on the hub (a typo?) and is no local folder{tiny}"
        )


def check_dataset_id(hub_id: str, key: str, timeout_s: float = 5.0) -> None:
    """DataError in one line when the dataset ``hub_id`` is neither cached nor reachable."""
    datasets_cache = Path(os.environ.get("HF_DATASETS_CACHE") or _hub_cache().parent / "datasets")
    local = datasets_cache / hub_id.replace("/", "___")
    if is_cached(hub_id, "dataset") or local.is_dir():
        return
    how = f"download it (huggingface-cli download --repo-type dataset {hub_id}), set HF_HOME, or use a local file"
    if _offline():
        raise DataError(
            f"{key}: dataset '{hub_id}' is not in the Hugging Face cache and the hub is off; {how}"
        )
    status = _hub_status(hub_id, "dataset", timeout_s)
    if status is None:
        raise DataError(f"{key}: dataset '{hub_id}' is not cached and the hub is not reachable; {how}")
    if status in (401, 403):
        raise DataError(
            f"{key}: dataset '{hub_id}' is gated; accept its terms on the hub and log in (HF_TOKEN)"
        )
    if status == 404:
        raise DataError(f"{key}: dataset '{hub_id}' does not exist on the hub (a typo?)")
