"""LoRA: the peft config, and which modules an architecture offers as targets."""

from __future__ import annotations

from sftlab.config.errors import ConfigError


def linear_module_names(model) -> list[str]:
    """Distinct leaf names of the model's linear layers (``q_proj``, ``dense``, ...), sans lm_head.

    Works on a model built on the meta device, so it needs no weights.
    """
    import torch

    names = []
    for full_name, module in model.named_modules():
        is_linear = isinstance(module, torch.nn.Linear) or type(module).__name__ in (
            "Linear4bit",
            "Linear8bitLt",
        )
        leaf = full_name.rsplit(".", 1)[-1]
        if is_linear and leaf != "lm_head" and leaf not in names:
            names.append(leaf)
    return names


def check_targets(targets: list[str], available: list[str], arch: str) -> None:
    """Raise a ConfigError naming ``lora.target_modules`` if a target is not in ``available``."""
    if not targets:
        raise ConfigError(f"lora.target_modules is empty; {arch} has: {', '.join(available)}")
    unknown = [t for t in targets if t not in available]
    if unknown:
        raise ConfigError(
            f"lora.target_modules: {unknown} not in {arch}, whose linear modules are: "
            f"{', '.join(available)} (e.g. lora.target_modules=[{','.join(available[:2])}])"
        )


def max_useful_rank(model, targets: list[str]) -> tuple[int, str] | None:
    """The largest LoRA rank the targeted layers can use, and the layer that sets it.

    A LoRA update ``B @ A`` of a ``d_out x d_in`` layer has rank at most ``min(d_in, d_out)``;
    a larger ``r`` only adds parameters (and adapter size) that cannot change what it learns.
    Works on a meta-device model. None when no targeted linear layer is found.
    """
    import torch

    best = None
    for full_name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and full_name.rsplit(".", 1)[-1] in targets:
            rank = min(module.in_features, module.out_features)
            if best is None or rank < best[0]:
                best = (rank, full_name.rsplit(".", 1)[-1])
    return best


def rank_warning(model, targets: list[str], r: int) -> str | None:
    """A one-line warning when ``lora.r`` exceeds what the targeted layers can use, else None."""
    best = max_useful_rank(model, targets)
    if best is None or r <= best[0]:
        return None
    rank, layer = best
    return (
        f"lora.r={r} exceeds the rank a LoRA update of {layer} can have ({rank} = its smaller side): "
        f"the extra rank only makes the adapter larger; lora.r<={rank} learns the same"
    )


def build_lora_config(lora_cfg):
    """A ``peft.LoraConfig`` for causal-LM fine-tuning from the ``lora`` config group."""
    from peft import LoraConfig

    if lora_cfg.r <= 0 or lora_cfg.alpha <= 0:
        raise ConfigError(
            f"lora.r and lora.alpha must be positive (got r={lora_cfg.r}, alpha={lora_cfg.alpha})"
        )
    if not 0.0 <= lora_cfg.dropout < 1.0:
        raise ConfigError(f"lora.dropout must be in [0, 1) (got {lora_cfg.dropout})")
    return LoraConfig(
        r=lora_cfg.r,
        lora_alpha=lora_cfg.alpha,
        lora_dropout=lora_cfg.dropout,
        target_modules=list(lora_cfg.target_modules),
        bias=lora_cfg.bias,
        task_type="CAUSAL_LM",
    )
