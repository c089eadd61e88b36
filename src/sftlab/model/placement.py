"""Which device a loaded model goes to: this process's GPU, or the CPU where there is none.

Under ``torchrun`` each rank owns the GPU ``LOCAL_RANK`` names; loading every rank onto the
current device (cuda:0 unless someone set it) puts all 4-bit copies on one card, and
accelerate refuses to train a quantized model on another device than the one it sits on.
"""

from __future__ import annotations

import os


def local_rank() -> int:
    """This process's GPU index on its node (``LOCAL_RANK`` from torchrun/accelerate, else 0)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def model_device_map(sharded: bool = False) -> dict | None:
    """``device_map`` for ``from_pretrained``: the whole model on this rank's GPU, None on CPU.

    Sets the current CUDA device first, so kernels and caches of this process use the same card.
    ``sharded`` (FSDP): None after setting the device. An unquantized model then loads in RAM and
    accelerate's ``fully_shard`` moves only this rank's shard to the GPU (with
    ``cpu_ram_efficient_loading`` only rank 0 reads the weights); a bitsandbytes model is quantized
    on the current device (its quantizer's default), i.e. the whole 4-bit model on every rank
    before sharding: accelerate 1.16 cannot move ``Params4bit`` to the meta device.
    """
    import torch

    if not torch.cuda.is_available():
        return None
    index = local_rank()
    torch.cuda.set_device(index)
    return None if sharded else {"": index}
