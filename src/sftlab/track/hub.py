"""Push a folder to the Hugging Face Hub with huggingface_hub, failing in one line.

The token comes from the environment variable named by ``hub.token_env`` (``HF_TOKEN``), else
from ``hf auth login``; it is never printed: every message that leaves here has it
removed. Offline (``HF_HUB_OFFLINE=1``) nothing is attempted and the message says so.
"""

from __future__ import annotations

import os
from pathlib import Path

from sftlab.config.errors import ConfigError

_KEEP_OUT = ["*.partial", "*.partial/**", ".ipynb_checkpoints/**"]


def _scrub(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text


def push_folder(folder: Path, hub_cfg, commit_message: str) -> str:
    """Create the repo (private unless ``hub.private=false``) and upload ``folder``; returns the commit URL."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    repo = hub_cfg.repo_id
    ready = f"nothing pushed; the adapter and its model card are ready in {folder}"
    if constants.HF_HUB_OFFLINE:
        raise ConfigError(
            f"hub.repo_id: offline (HF_HUB_OFFLINE=1), cannot push to {repo}; {ready} (push again online)"
        )
    token = os.environ.get(hub_cfg.token_env) if hub_cfg.token_env else None
    api = HfApi(token=token or None)
    try:
        api.create_repo(repo, repo_type="model", private=hub_cfg.private, exist_ok=True)
        if hub_cfg.revision:
            api.create_branch(repo, branch=hub_cfg.revision, exist_ok=True)
        info = api.upload_folder(
            folder_path=str(folder),
            repo_id=repo,
            revision=hub_cfg.revision,
            commit_message=commit_message,
            ignore_patterns=_KEEP_OUT,
        )
    except OfflineModeIsEnabled:
        raise ConfigError(
            f"hub.repo_id: offline, cannot push to {repo}; {ready} (push again online)"
        ) from None
    except HfHubHTTPError as e:
        status = getattr(getattr(e, "response", None), "status_code", None)
        if status in (401, 403):
            hint = f"set {hub_cfg.token_env} to a token with write access (or hf auth login)"
        else:
            hint = "check hub.repo_id"
        first = _scrub(str(e).splitlines()[0], token)[:160]
        raise ConfigError(
            f"hub.repo_id: the Hub refused the push to {repo} (HTTP {status}: {first}); {hint}; {ready}"
        ) from None
    except Exception as e:  # no network (httpx/OS errors), DNS, TLS; an invalid repo id
        first = _scrub(str(e).splitlines()[0] if str(e) else type(e).__name__, token)[:160]
        raise ConfigError(
            f"hub.repo_id: cannot push to {repo} ({type(e).__name__}: {first}); {ready}"
        ) from None
    return str(getattr(info, "commit_url", None) or f"https://huggingface.co/{repo}")
