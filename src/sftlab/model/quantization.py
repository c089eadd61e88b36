"""Build the ``BitsAndBytesConfig`` for the ``quantization`` config group."""

from __future__ import annotations

from sftlab.config.errors import ConfigError
from sftlab.model.precision import torch_dtype


def build_bnb_config(quant_cfg, compute_dtype: str | None = None):
    """A ``transformers.BitsAndBytesConfig`` for 4-bit/8-bit loading, or None for ``none``.

    ``compute_dtype`` overrides ``bnb_4bit_compute_dtype`` after the hardware check.
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
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=quant_cfg.bnb_4bit_quant_type,
        bnb_4bit_use_double_quant=quant_cfg.bnb_4bit_use_double_quant,
        bnb_4bit_compute_dtype=torch_dtype(compute_dtype or quant_cfg.bnb_4bit_compute_dtype),
    )
