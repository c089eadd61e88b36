"""How the processes of a ``torchrun`` / ``accelerate launch`` job train together: DDP or FSDP.

Under DDP every rank holds the whole model and trains its shard of each batch; under FSDP
(``distributed=fsdp``) the weights, LoRA gradients and optimizer states are sharded over the
ranks as well. Either way only rank 0 opens the MLflow run, saves the adapter and runs the
post-training stages, so one job is one run. The rank itself is read in :mod:`sftlab.config.runtime`.

FSDP is accelerate's FSDP2 (``fully_shard``), the version transformers 5 defaults to (FSDP1 is
deprecated there; ``use_orig_params`` and ``sync_module_states`` are FSDP1 keys that FSDP2 no
longer needs). FSDP2 requires one dtype among the *trainable* parameters of each wrapped layer
and all-gathers frozen parameters of mixed dtypes, so sftlab's fp32 LoRA weights (see
``train.trainer.ADAPTER_DTYPE``) stay fp32 under FSDP; the 4-bit weights must be stored in a
floating dtype to be sharded at all (``bnb_4bit_quant_storage``, see
``model.quantization.build_bnb_config``), else accelerate leaves them unsharded on every rank.
"""

from __future__ import annotations

import logging

from sftlab.config.errors import ConfigError
from sftlab.config.runtime import world_size

log = logging.getLogger(__name__)

STRATEGIES = ("none", "ddp", "fsdp")


def strategy(cfg) -> str:
    """``none``, ``ddp`` or ``fsdp`` (``none`` when the config has no ``distributed`` group)."""
    dist = cfg.get("distributed") if hasattr(cfg, "get") else getattr(cfg, "distributed", None)
    return dist.strategy if dist is not None else "none"


def is_fsdp(cfg) -> bool:
    """True when this run shards the model with FSDP."""
    return strategy(cfg) == "fsdp"


def check(cfg, processes: int | None = None, cuda: bool | None = None) -> None:
    """One-line ConfigErrors for combinations that cannot work; a warning for pointless ones.

    ``processes`` replaces ``WORLD_SIZE`` and ``cuda`` ``torch.cuda.is_available()`` (tests).
    """
    name = strategy(cfg)
    if name not in STRATEGIES:
        raise ConfigError(f"distributed.strategy: '{name}' is not one of {', '.join(STRATEGIES)}")
    n = world_size() if processes is None else processes
    if name == "ddp" and n < 2:
        log.warning("distributed=ddp with WORLD_SIZE=1: one process trains alone (launch with torchrun)")
    if name != "fsdp":
        return
    if n < 2:
        raise ConfigError(
            "distributed=fsdp needs 2 or more processes (WORLD_SIZE=1): launch with "
            "torchrun --nproc_per_node N train.py distributed=fsdp ..., or use distributed=none"
        )
    if cuda is None:
        import torch

        cuda = torch.cuda.is_available()
    if not cuda:
        # accelerate 1.16 enables its FSDP plugin for multi-accelerator runs only (state.py): under
        # torchrun on CPU (gloo) it would silently train plain DDP with every rank holding the model.
        raise ConfigError(
            "distributed=fsdp needs CUDA GPUs (accelerate shards only on accelerators; on CPU it "
            "would silently run DDP); use distributed=ddp (or none) on CPU"
        )
    if cfg.quantization.load_in_8bit:
        raise ConfigError(
            "distributed=fsdp with quantization=int8: bitsandbytes int8 weights cannot be sharded; "
            "use quantization=nf4 (4-bit stored in the compute dtype) or quantization=none"
        )
    if cfg.eval.enabled or cfg.judge.kind != "none":
        raise ConfigError(
            "distributed=fsdp: the eval/judge stages cannot run on a sharded model in this job; "
            "add eval=none judge=none and run `sftlab eval adapter=<run folder>/adapter` after training"
        )
    state_dict = cfg.distributed.fsdp.state_dict_type
    if state_dict not in ("FULL_STATE_DICT", "SHARDED_STATE_DICT"):
        raise ConfigError(
            f"distributed.fsdp.state_dict_type: '{state_dict}' is not FULL_STATE_DICT or SHARDED_STATE_DICT"
        )


def layer_classes(model) -> list[str]:
    """The decoder layer class names FSDP wraps one by one: the model's ``_no_split_modules``."""
    names = getattr(model, "_no_split_modules", None) or []
    return sorted(set(names))


def fsdp_training_args(dist_cfg, gradient_checkpointing: bool, layers: list[str] | None = None) -> dict:
    """``SFTConfig`` keyword arguments for ``distributed=fsdp`` (empty for none/ddp).

    Activation checkpointing is FSDP's own (``fsdp_config.activation_checkpointing``, non-reentrant
    per wrapped layer), switched by ``training.gradient_checkpointing``; the trainer's own
    checkpointing is turned off, because transformers refuses both at once and the trainer's
    version re-gathers every layer's weights once more in backward.
    """
    if dist_cfg is None or dist_cfg.strategy != "fsdp":
        return {}
    f = dist_cfg.fsdp
    wrap = list(f.transformer_layer_cls_to_wrap or []) or list(layers or [])
    fsdp_config = {
        "version": 2,
        "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
        "reshard_after_forward": bool(f.reshard_after_forward),
        "cpu_offload": bool(f.cpu_offload),
        "cpu_ram_efficient_loading": bool(f.cpu_ram_efficient_loading),
        "state_dict_type": f.state_dict_type,
        "activation_checkpointing": bool(gradient_checkpointing),
    }
    if wrap:
        fsdp_config["transformer_layer_cls_to_wrap"] = wrap
    return {"fsdp": True, "fsdp_config": fsdp_config, "gradient_checkpointing": False}


def full_adapter_state(model) -> dict:
    """The trainable (LoRA) tensors, whole, on every rank: FSDP2 holds them as sharded DTensors.

    Every rank must call this (each ``full_tensor()`` is an all-gather, in parameter order).
    """
    state = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        tensor = param.full_tensor() if hasattr(param, "full_tensor") else param
        state[name] = tensor.detach().cpu()
    return state


def tags(cfg=None) -> dict[str, str]:
    """Run tags describing the process group (empty in a single process)."""
    if world_size() <= 1:
        return {}
    out = {"ddp.world_size": str(world_size())}
    if cfg is not None:
        out["distributed"] = "fsdp" if is_fsdp(cfg) else "ddp"
    return out
