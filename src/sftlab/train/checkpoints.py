"""Training checkpoints that are safe with a 4-bit base, and finding the last complete one.

A checkpoint is ``<output_dir>/checkpoints/checkpoint-<step>/``: the LoRA adapter (trainable
tensors only), optimizer, scheduler, RNG and ``trainer_state.json``, which is everything
``trainer.train(resume_from_checkpoint=...)`` needs. The frozen base is not saved: it is the
base model the job loads anyway, and saving it would cost the model's full size per checkpoint.
"""

from __future__ import annotations

import re
from pathlib import Path

CHECKPOINTS_DIR = "checkpoints"
# transformers writes trainer_state.json last, so a folder without it was cut off mid-save
# (SIGKILL, node lost) and must not be resumed from.
COMPLETE_MARKER = "trainer_state.json"
_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


def adapter_state_dict(model) -> dict:
    """The trainable (adapter) tensors of ``model``, by parameter name.

    Never ``model.state_dict()``: on CPU, bitsandbytes 0.50's state_dict() of a 4-bit model
    rewrites the packed base weights in place, so the model being trained would change under
    the optimizer at every checkpoint.
    """
    return {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}


def adapter_checkpoint_trainer(base_class):
    """A subclass of the trainer class ``base_class`` whose checkpoints hold only the adapter."""

    class AdapterCheckpointTrainer(base_class):
        """``base_class`` with ``_save`` passing the adapter tensors instead of the full state_dict."""

        def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
            if state_dict is None:
                state_dict = adapter_state_dict(self.model)
            super()._save(output_dir, state_dict=state_dict)

    AdapterCheckpointTrainer.__name__ = f"AdapterCheckpoint{base_class.__name__}"
    return AdapterCheckpointTrainer


def checkpoint_root(output_dir: str | Path) -> Path:
    """Where a job's checkpoints go: ``<output_dir>/checkpoints``."""
    return Path(output_dir) / CHECKPOINTS_DIR


def last_checkpoint(output_dir: str | Path) -> Path | None:
    """The complete checkpoint with the highest step under ``<output_dir>/checkpoints``, or None."""
    root = checkpoint_root(output_dir)
    if not root.is_dir():
        return None
    found = []
    for child in root.iterdir():
        match = _CHECKPOINT_RE.match(child.name)
        if match and child.is_dir() and (child / COMPLETE_MARKER).is_file():
            found.append((int(match.group(1)), child))
    return max(found)[1] if found else None


def checkpoint_step(checkpoint: str | Path) -> int:
    """The optimizer step a ``checkpoint-<step>`` folder was saved at."""
    match = _CHECKPOINT_RE.match(Path(checkpoint).name)
    if not match:
        raise ValueError(f"not a checkpoint folder: {checkpoint}")
    return int(match.group(1))
