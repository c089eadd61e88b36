"""Numeric precision for this machine: what the config asks for, and what the hardware can do.

bf16 needs an Ampere-or-newer GPU. On a GPU without it we fall back to fp16 (and say so); on a
CPU, mixed precision is switched off for the trainer (TRL refuses bf16 on CPU-only machines).
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


def _bf16_supported() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


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
