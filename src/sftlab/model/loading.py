"""Load tokenizer and base model: one path for a hub id, a local folder, or a tiny model.

Also provides the architecture's config without weights (for validation), from the hub or
local folder when reachable, else from the config the project ships for the 7B entries.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sftlab.config.errors import ConfigError

log = logging.getLogger(__name__)


def architecture_config(model_cfg):
    """The transformers config of ``model_cfg`` without loading (or downloading) weights."""
    from transformers import AutoConfig

    from sftlab.model.tiny import shipped_config_dict, tiny_config

    if model_cfg.build is not None:
        return tiny_config(model_cfg.build)
    if Path(model_cfg.name_or_path).is_dir():
        return AutoConfig.from_pretrained(model_cfg.name_or_path)
    try:
        return AutoConfig.from_pretrained(
            model_cfg.name_or_path, revision=model_cfg.revision, trust_remote_code=model_cfg.trust_remote_code
        )
    except Exception as e:  # offline, gated or a typo: fall back to the shipped config if any
        if not model_cfg.architecture_config:
            raise ConfigError(
                f"model.name_or_path: cannot read the config of '{model_cfg.name_or_path}' ({type(e).__name__}); "
                "check the id / your HF token, or point it at a local folder"
            ) from None
        log.info("Using shipped config %s for checks (hub not reachable)", model_cfg.architecture_config)
        values = shipped_config_dict(model_cfg.architecture_config)
        values.pop("architectures", None)
        return AutoConfig.for_model(values.pop("model_type"), **values)


def meta_model(config):
    """Instantiate ``config`` on the meta device: module structure without memory."""
    import torch
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        return AutoModelForCausalLM.from_config(config)


def resolve_source(model_cfg) -> str:
    """The folder or hub id to load from; builds the tiny model first when configured."""
    if model_cfg.build is not None:
        from sftlab.model.tiny import ensure_tiny_model

        return ensure_tiny_model(model_cfg)
    return model_cfg.name_or_path


def load_tokenizer(model_cfg, source: str):
    """Tokenizer with the pad token and padding side the model config asks for."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(
        source, revision=model_cfg.revision, trust_remote_code=model_cfg.trust_remote_code
    )
    if model_cfg.pad_token:
        if model_cfg.pad_token not in tok.get_vocab():
            raise ConfigError(
                f"model.pad_token: '{model_cfg.pad_token}' is not in the tokenizer's vocabulary"
            )
        tok.pad_token = model_cfg.pad_token
    elif tok.pad_token is None:
        # Reusing EOS as pad is safe here: labels of padding are masked, and TRL appends the
        # real EOS to each completion before padding.
        tok.pad_token = tok.eos_token
    tok.padding_side = model_cfg.padding_side
    return tok


def load_model(
    model_cfg, source: str, bnb_config, dtype_name: str, on_gpu: bool = True, sharded: bool = False
):
    """The base causal LM, quantized by ``bnb_config`` when given, on this process's GPU if any.

    The model is placed at load time, quantized or not: eval, judge and chat never pass through
    the Trainer (which would move it), and a 4-bit model cannot be moved after loading. A
    quantized load that quantized nothing is refused (see :func:`check_quantized`).
    ``on_gpu=False`` keeps an unquantized model in RAM (the merge, sized against RAM).
    ``sharded`` (FSDP): no ``device_map``, FSDP places the shards (see :func:`model_device_map`).
    """
    from contextlib import nullcontext

    from transformers import AutoModelForCausalLM

    from sftlab.model.placement import model_device_map
    from sftlab.model.precision import torch_dtype
    from sftlab.model.quantization import check_quantized, plain_linear_layers

    kwargs = dict(
        revision=model_cfg.revision,
        trust_remote_code=model_cfg.trust_remote_code,
        dtype=torch_dtype(dtype_name),
    )
    attn = getattr(model_cfg, "attn_implementation", None)
    if attn:
        kwargs["attn_implementation"] = attn
    device_map = model_device_map(sharded) if on_gpu or bnb_config is not None else None
    if device_map is not None:
        kwargs["device_map"] = device_map
    if bnb_config is not None:
        kwargs["quantization_config"] = bnb_config
    with plain_linear_layers() if bnb_config is not None else nullcontext():
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    if bnb_config is not None:
        n = check_quantized(
            model,
            "quantization.load_in_4bit" if bnb_config.load_in_4bit else "quantization.load_in_8bit",
            model_cfg.name,
        )
        log.info("%d linear layers quantized", n)
    model.config.use_cache = False  # the KV cache is useless in training and breaks checkpointing
    return model


def load_adapter(base_model, adapter_dir: str, trainable: bool = False):
    """Attach a saved LoRA adapter to ``base_model`` exactly as it was trained.

    sftlab trains adapters in fp32 (quantized base or not), and peft's default upcasts adapter
    weights to fp32 on load, so the reloaded model computes as the trained one did. An adapter
    saved in bf16 (older sftlab runs) loads with exact values, upcast.
    """
    from peft import PeftModel

    return PeftModel.from_pretrained(base_model, adapter_dir, is_trainable=trainable)
