"""Build the ``BitsAndBytesConfig`` for the ``quantization`` config group."""

from __future__ import annotations

from contextlib import contextmanager

from sftlab.config.errors import ConfigError
from sftlab.model.precision import torch_dtype


def build_bnb_config(quant_cfg, compute_dtype: str | None = None, sharded: bool = False):
    """A ``transformers.BitsAndBytesConfig`` for 4-bit/8-bit loading, or None for ``none``.

    ``compute_dtype`` overrides ``bnb_4bit_compute_dtype`` after the hardware check.
    ``sharded`` (FSDP): the packed 4-bit weights are stored in the compute dtype
    (``bnb_4bit_quant_storage``) instead of uint8, because FSDP shards floating tensors only;
    the bytes are the same, only their dtype label changes.
    """
    if quant_cfg.load_in_4bit and quant_cfg.load_in_8bit:
        raise ConfigError(
            "quantization: load_in_4bit and load_in_8bit are both true; choose one (quantization=nf4 or quantization=int8)"
        )
    if not (quant_cfg.load_in_4bit or quant_cfg.load_in_8bit):
        return None
    from transformers import BitsAndBytesConfig

    if quant_cfg.load_in_8bit:
        return BitsAndBytesConfig(load_in_8bit=True)
    if quant_cfg.bnb_4bit_quant_type not in ("nf4", "fp4"):
        raise ConfigError(
            f"quantization.bnb_4bit_quant_type: '{quant_cfg.bnb_4bit_quant_type}' is not nf4 or fp4"
        )
    compute = torch_dtype(compute_dtype or quant_cfg.bnb_4bit_compute_dtype)
    extra = {"bnb_4bit_quant_storage": compute} if sharded else {}
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=quant_cfg.bnb_4bit_quant_type,
        bnb_4bit_use_double_quant=quant_cfg.bnb_4bit_use_double_quant,
        bnb_4bit_compute_dtype=compute,
        **extra,
    )


# transformers swaps only modules whose type *is* ``nn.Linear`` for bitsandbytes layers, so an
# architecture whose projections subclass it is loaded in full precision and still flagged as
# quantized. These subclasses compute exactly ``x @ W.T + b`` (like ``nn.Linear``), so building
# the model with plain ``nn.Linear`` in their place changes no weight name and no output.
LINEAR_SUBCLASSES = {
    "falcon": ("transformers.models.falcon.modeling_falcon", "FalconLinear"),
}


@contextmanager
def plain_linear_layers():
    """While active, the known ``nn.Linear`` subclasses are built as ``nn.Linear`` (so quantizable)."""
    import importlib

    import torch

    swapped = []
    for module_name, class_name in LINEAR_SUBCLASSES.values():
        module = importlib.import_module(module_name)
        swapped.append((module, class_name, getattr(module, class_name)))
        setattr(module, class_name, torch.nn.Linear)
    try:
        yield
    finally:
        for module, class_name, original in swapped:
            setattr(module, class_name, original)


def quantized_linear_count(model) -> int:
    """How many bitsandbytes 4-bit/8-bit linear layers ``model`` holds (0 for a full-precision model)."""
    names = ("Linear4bit", "Linear8bitLt")
    # peft wraps a quantized base layer in its own Linear4bit/Linear8bitLt: count the base only.
    return sum(
        1
        for m in model.modules()
        if type(m).__name__ in names and type(m).__module__.startswith("bitsandbytes")
    )


def check_quantized(model, key: str, model_name: str) -> int:
    """The quantized-layer count; a ConfigError naming ``key`` when a quantized load left every
    layer full precision (it would train plain LoRA tagged as QLoRA, or run out of memory)."""
    count = quantized_linear_count(model)
    if count == 0:
        raise ConfigError(
            f"{key}=true: model '{model_name}' loaded with no quantized linear layer "
            "(its projections are not nn.Linear); use quantization=none or add its linear class to "
            "sftlab.model.quantization.LINEAR_SUBCLASSES"
        )
    return count
