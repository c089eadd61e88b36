"""Numeric precision for this machine: what the config asks for, and what the hardware can do.

bf16 needs an Ampere-or-newer GPU (compute capability >= 8.0). On an older GPU we fall back to
fp16 mixed precision (and say so): the base and 4-bit compute in fp16, the trainable LoRA
weights in fp32 (``train.trainer.keep_adapter_fp32``; fp16 AMP's grad scaler needs fp32
trainable weights, which TRL's bf16 cast of QLoRA adapters would otherwise break). On a CPU,
mixed precision is switched off for the trainer (TRL refuses bf16 on CPU-only machines).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
}


@dataclass
class Precision:
    """Resolved precision: dtypes for weights and 4-bit compute, and the trainer's AMP flags."""

    model_dtype: str
    compute_dtype: str
    bf16: bool
    fp16: bool
    note: str = ""


# Native bf16 arrived with Ampere (compute capability 8.0). torch's is_bf16_supported() also
# says True on T4/V100/RTX 20xx, where bf16 is emulated (slow, and no fallback note would fire).
BF16_MIN_CAPABILITY = (8, 0)


def _bf16_supported() -> bool:
    import torch

    if not torch.cuda.is_available():
        return False
    return tuple(torch.cuda.get_device_capability()) >= BF16_MIN_CAPABILITY


def resolve_precision(model_dtype: str, compute_dtype: str, bf16_flag: bool | None) -> Precision:
    """Decide dtypes and AMP flags for the current hardware.

    ``bf16_flag`` is ``training.bf16``: None means "bf16 if the hardware has it". Asking for
    bf16 where it does not exist is not an error: we fall back and return a note the run logs.
    """
    import torch

    model_dtype, compute_dtype = DTYPES[model_dtype], DTYPES[compute_dtype]
    cuda = torch.cuda.is_available()
    has_bf16 = _bf16_supported()
    notes = []
    if cuda and not has_bf16:
        for label, value in (
            ("model.dtype", model_dtype),
            ("quantization.bnb_4bit_compute_dtype", compute_dtype),
        ):
            if value == "bfloat16":
                notes.append(f"{label}=bfloat16 is not supported on this GPU; using float16")
        model_dtype = "float16" if model_dtype == "bfloat16" else model_dtype
        compute_dtype = "float16" if compute_dtype == "bfloat16" else compute_dtype
    if not cuda:
        bf16 = fp16 = False
        if bf16_flag:
            notes.append("training.bf16=true needs a GPU with bf16; training in float32 on CPU")
    else:
        bf16 = has_bf16 if bf16_flag is None else (bool(bf16_flag) and has_bf16)
        if bf16_flag and not has_bf16:
            notes.append("training.bf16=true is not supported on this GPU; using fp16 mixed precision")
        fp16 = not bf16 and model_dtype == "float16"
    note = "; ".join(notes)
    if note:
        log.warning(note)
    return Precision(model_dtype, compute_dtype, bf16, fp16, note)


def torch_dtype(name: str):
    """The torch dtype object for a name like ``bfloat16``."""
    import torch

    return getattr(torch, DTYPES[name])
