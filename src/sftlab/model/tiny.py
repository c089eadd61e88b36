"""Tiny stand-in models: a real architecture config, shrunk, with the project's tokenizer.

A ``model.build`` section names one of the shipped 7B configs and the sizes to shrink. The
model is initialised with random weights from that config, saved as safetensors in
``model.name_or_path`` together with the tokenizer, and from then on loaded exactly like a
hub model (``from_pretrained`` + ``BitsAndBytesConfig``). Nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from sftlab.config.paths import ASSETS_DIR

log = logging.getLogger(__name__)

TOKENIZER_DIR = ASSETS_DIR / "tokenizer"
CONFIG_DIR = ASSETS_DIR / "model_configs"
_MARKER = "sftlab_build.json"


def _file_hash(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else None


def shipped_config_dict(name: str) -> dict:
    """The JSON of a shipped architecture config (``assets/model_configs/<name>``)."""
    path = CONFIG_DIR / name
    if not path.is_file():
        from sftlab.config.errors import ConfigError

        known = ", ".join(sorted(p.name for p in CONFIG_DIR.glob("*.json")))
        raise ConfigError(f"model.build.base_config: no shipped config '{name}' (known: {known})")
    return json.loads(path.read_text())


def tiny_config(build_cfg, tokenizer=None):
    """The transformers config of a tiny model: the shipped config with ``overrides`` applied.

    Vocabulary size and special-token ids come from the shipped tokenizer so the embedding
    matrix matches it.
    """
    from transformers import AutoConfig, AutoTokenizer

    tokenizer = tokenizer or AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))
    values = shipped_config_dict(build_cfg.base_config)
    values.update(dict(build_cfg.overrides))
    values.update(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model_type = values.pop("model_type")
    values.pop("architectures", None)
    return AutoConfig.for_model(model_type, **values)


def ensure_tiny_model(model_cfg) -> str:
    """Build the tiny model folder if it is missing or was built from other settings.

    Returns the folder. The build is written to a temporary folder and renamed into place,
    so parallel sweep jobs never load a half-written model.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = Path(model_cfg.name_or_path)
    build_cfg = model_cfg.build
    spec = {
        "base_config": build_cfg.base_config,
        "overrides": dict(build_cfg.overrides),
        "seed": build_cfg.seed,
        "tokenizer": (TOKENIZER_DIR / "tokenizer.json").stat().st_size,
        # A folder built before the tokenizer had its chat template is rebuilt (same weights).
        "chat_template": _file_hash(TOKENIZER_DIR / "chat_template.jinja"),
    }
    marker = target / _MARKER
    if marker.is_file() and json.loads(marker.read_text()) == spec:
        return str(target)
    if target.is_dir() and any(target.iterdir()) and not marker.is_file():
        from sftlab.config.errors import ConfigError

        # e.g. a merged model: rebuilding here would delete it
        raise ConfigError(
            f"model.name_or_path: {target} holds a model sftlab did not build; add model.build=null to load it as is"
        )

    log.info("Building tiny model %s in %s", model_cfg.name, target)
    tokenizer = AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))
    config = tiny_config(build_cfg, tokenizer)
    torch.manual_seed(build_cfg.seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / _MARKER).write_text(json.dumps(spec, sort_keys=True))
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            # Another job finished the same build first; its result is identical.
            if not (target / _MARKER).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return str(target)
