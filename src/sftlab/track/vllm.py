"""Can vLLM serve this adapter, and with which ``vllm serve`` command?

Facts from vLLM's source (checked against the vllm-project/vllm repository, 2026-12):

* ``LoRAConfig.max_lora_rank`` is one of 1, 8, 16, 32, 64, 128, 256, 320, 512 and defaults to 16
  (``vllm/config/lora.py``), so the study's r=256 needs ``--max-lora-rank 256`` and a rank above
  512 cannot be served as a LoRA at all.
* ``--lora-modules`` takes ``name=path`` (or a JSON object when the path has ``=`` or ``,``), with
  ``--enable-lora`` (``vllm/entrypoints/openai/cli_args.py``).
* LoRA needs a model class with ``SupportsLoRA``: LLaMA and Mistral (served by the LLaMA class)
  have it, Falcon does not (``vllm/model_executor/models/falcon.py`` implements ``SupportsPP``
  only). A Falcon adapter is served by merging it (``sftlab merge``) and serving the folder.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from sftlab.config.paths import ASSETS_DIR

MAX_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)
DEFAULT_MAX_LORA_RANK = 16
LORA_ARCHITECTURES = {"LlamaForCausalLM", "MistralForCausalLM"}  # the families sftlab ships
NO_LORA_ARCHITECTURES = {"FalconForCausalLM"}


@dataclass
class VllmAdvice:
    """Whether vLLM can serve the adapter as a LoRA, why, and the command."""

    servable: bool
    lines: list[str] = field(default_factory=list)
    command: str | None = None


def model_json(model_cfg: dict) -> dict | None:
    """The base's config.json (its local folder, else the shipped config), without transformers."""
    candidates = [Path(str(model_cfg.get("name_or_path", ""))) / "config.json"]
    if model_cfg.get("architecture_config"):
        candidates.append(ASSETS_DIR / "model_configs" / str(model_cfg["architecture_config"]))
    for path in candidates:
        if path.is_file():
            return json.loads(path.read_text())
    return None


def architecture(model_cfg: dict) -> str | None:
    """The base's architecture class (``LlamaForCausalLM``, ...), or None when unknown."""
    archs = (model_json(model_cfg) or {}).get("architectures") or []
    return archs[0] if archs else None


def lora_rank_flag(r: int) -> int | None:
    """The smallest ``--max-lora-rank`` vLLM accepts for rank ``r`` (None above its maximum)."""
    return next((m for m in MAX_LORA_RANKS if m >= r), None)


def _module_arg(name: str, path: str) -> str:
    if "=" in path or "," in path:  # vLLM then reads the value as JSON
        return shlex.quote(json.dumps({"name": name, "path": path}))
    return shlex.quote(f"{name}={path}")


def advise(adapter_config: dict, base: str, arch: str | None, name: str, path: str) -> VllmAdvice:
    """The verdict and the ``vllm serve`` command for an adapter of rank ``adapter_config['r']``.

    ``base``: what vLLM loads (hub id or folder); ``path``: the adapter (folder or hub repo id).
    """
    r = int(adapter_config.get("r", 0))
    rank = lora_rank_flag(r)
    if rank is None:
        return VllmAdvice(
            False,
            [f"vLLM cannot serve this adapter as a LoRA: rank r={r} is above its largest max_lora_rank "
             f"({MAX_LORA_RANKS[-1]}). Merge it (sftlab merge) and serve the merged folder."],
        )  # fmt: skip
    if arch in NO_LORA_ARCHITECTURES:
        return VllmAdvice(
            False,
            [f"vLLM cannot serve this adapter as a LoRA: its {arch} has no LoRA support in vLLM. Merge it "
             "(sftlab merge adapter=... out=<dir>) and run `vllm serve <dir>`."],
        )  # fmt: skip
    lines = []
    if arch not in LORA_ARCHITECTURES:
        lines.append(
            f"vLLM LoRA support for {arch or 'this architecture'} is not known to sftlab; check vLLM's supported models."
        )
    if adapter_config.get("modules_to_save"):
        lines.append(
            "The adapter saves whole modules (modules_to_save), which vLLM's LoRA loader rejects; merge it instead."
        )
        return VllmAdvice(False, lines)
    if rank > DEFAULT_MAX_LORA_RANK:
        lines.append(
            f"vLLM can serve it as a LoRA (rank {r}); vLLM's default --max-lora-rank is {DEFAULT_MAX_LORA_RANK}, "
            f"so the command raises it to {rank}."
        )
    else:
        lines.append(f"vLLM can serve it as a LoRA (rank {r}, within --max-lora-rank {rank}).")
    command = (
        f"vllm serve {shlex.quote(base)} --enable-lora --lora-modules {_module_arg(name, path)} "
        f"--max-lora-rank {rank}"
    )
    lines.append(f'Requests name the adapter as the model: "model": "{name}".')
    return VllmAdvice(True, lines, command)
