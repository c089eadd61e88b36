"""Merge a LoRA adapter into its base: estimate, merge in a real dtype, write, check the logits.

The base is loaded unquantized in ``merge.dtype`` (an adapter trained on a 4-bit base is merged
into the original weights, never into packed NF4 blocks), the adapter is attached, and the
logits of a probe batch are kept. After ``merge_and_unload`` the model is written (safetensors
shards, tokenizer, generation config) to a staging folder, dropped from memory and read back
from disk; its logits on the same batch are compared with the kept ones. So the check covers
what was written, and the merge never holds more than one model in RAM. Nothing reaches the
output folder unless the difference is within the tolerance.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from sftlab.config.errors import ConfigError

log = logging.getLogger(__name__)

DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
# 16-bit rounding of W + BA moves logits by hundredths; a wrong merge moves them by whole units.
DEFAULT_TOLERANCE = {"float32": 1e-3, "bfloat16": 1.0, "float16": 1.0}
MERGE_RECORD = "sftlab_merge.json"


@dataclass
class MergeEstimate:
    """The RAM a merge needs: the model in its dtype, one shard being serialized, the adapter, a margin."""

    params: int
    dtype: str
    need_bytes: int
    budget_bytes: int
    budget_source: str

    def line(self) -> str:
        """One human line: need vs budget."""
        count = f"{self.params / 1e9:.2f} B" if self.params >= 1e9 else f"{self.params / 1e6:.2f} M"
        return (
            f"{count} params in {self.dtype}: needs ~{self.need_bytes / 2**30:.2f} GiB of RAM, "
            f"{self.budget_bytes / 2**30:.2f} GiB {self.budget_source}"
        )


@dataclass
class MergeCheck:
    """Merged model (read back from disk) vs base + adapter, same dtype, same probe batch."""

    dtype: str
    max_abs_logit_diff: float
    top1_agreement: float  # share of probe positions whose most likely next token agrees
    tolerance: float
    probe_prompts: int
    probe_tokens: int


def merge_dtype(model_cfg, requested: str | None) -> str:
    """The dtype to merge in: ``merge.dtype`` or ``model.dtype``, as a canonical name."""
    from sftlab.model.precision import DTYPES

    name = requested or model_cfg.dtype
    if name not in DTYPES:
        raise ConfigError(f"merge.dtype: unknown dtype '{name}'; choose float32, bfloat16 or float16")
    return DTYPES[name]


def estimate(model_cfg, dtype: str, adapter_dir: str, max_shard_size: str, memory_gb: float | None):
    """The merge's RAM need, from the architecture alone (meta device: no weight is loaded)."""
    import psutil
    from transformers.utils.hub import convert_file_size_to_int

    from sftlab.model.loading import architecture_config, meta_model

    params = sum(p.numel() for p in meta_model(architecture_config(model_cfg)).parameters())
    model_bytes = params * DTYPE_BYTES[dtype]
    try:
        shard = min(convert_file_size_to_int(max_shard_size), model_bytes)
    except (ValueError, TypeError):
        raise ConfigError(
            f"merge.max_shard_size: '{max_shard_size}' is not a size like 2GB or 500MB"
        ) from None
    adapter_bytes = sum(f.stat().st_size for f in Path(adapter_dir).glob("*.safetensors"))
    # The adapter is upcast to fp32 (x2 over bf16); 10% covers activations of the probe and allocator slack.
    need = int((model_bytes + shard + 2 * adapter_bytes) * 1.10)
    if memory_gb is not None:
        budget, source = int(memory_gb * 2**30), f"budget (merge.memory_gb={memory_gb:g})"
    else:
        budget, source = int(psutil.virtual_memory().available), "available now"
    return MergeEstimate(params, dtype, need, budget, source)


def check_fits(est: MergeEstimate) -> None:
    """Refuse, in one line, a merge whose model would not fit in RAM."""
    if est.need_bytes > est.budget_bytes:
        raise ConfigError(
            f"merge: the merged model would not fit in RAM ({est.line()}); free memory, use a larger "
            "machine or merge.dtype=bfloat16 (merge.memory_gb=<GiB> sets the budget)"
        )


def _probe_logits(model, tokenizer, prompts: list[str]):
    """fp32 logits of the probe batch and the mask of its real (non-padding) positions."""
    import torch

    enc = tokenizer(list(prompts), return_tensors="pt", padding=True).to(model.device)
    with torch.no_grad():
        logits = model(**enc).logits.float().cpu()
    return logits, enc["attention_mask"].bool().cpu()


def compare(ref, new, mask) -> tuple[float, float]:
    """Largest |difference| of two logit tensors over ``mask``, and the share of agreeing argmaxes."""
    diff = (ref - new).abs()[mask]
    agree = (ref.argmax(-1) == new.argmax(-1))[mask].float()
    return float(diff.max()), float(agree.mean())


def staging_dir(out: Path) -> Path:
    """The folder a merge is written to before it is checked (beside ``out``, so renaming is atomic)."""
    return out.parent / f".{out.name}.partial"


def merge_adapter(model_cfg, adapter_dir: str, out: Path, opts) -> tuple[Path, MergeCheck]:
    """Merge, write to a staging folder, read back and check; returns ``(staging folder, check)``.

    ``opts`` is the ``merge`` config group. A difference above the tolerance removes the
    staging folder and raises a ConfigError. :func:`publish` moves the folder into place.
    """
    from transformers import AutoModelForCausalLM

    from sftlab.model.loading import load_model, load_tokenizer, resolve_source
    from sftlab.model.precision import torch_dtype
    from sftlab.model.pretrained import attach_adapter

    dtype = merge_dtype(model_cfg, opts.dtype)
    tolerance = opts.tolerance if opts.tolerance is not None else DEFAULT_TOLERANCE[dtype]
    if not opts.probe_prompts:
        raise ConfigError("merge.probe_prompts is empty; give at least one text for the logits check")
    source = resolve_source(model_cfg)
    tokenizer = load_tokenizer(model_cfg, source)
    log.info("Loading %s unquantized in %s for the merge", model_cfg.name, dtype)
    model = attach_adapter(
        load_model(model_cfg, source, None, dtype, on_gpu=False), adapter_dir, model_cfg.name
    ).eval()
    ref, mask = _probe_logits(model, tokenizer, opts.probe_prompts)
    merged = model.merge_and_unload(safe_merge=True)  # safe_merge: refuse NaN/inf merged weights
    merged.config.use_cache = True
    gen = merged.generation_config
    gen.pad_token_id = tokenizer.pad_token_id
    gen.bos_token_id, gen.eos_token_id = tokenizer.bos_token_id, tokenizer.eos_token_id
    stage = staging_dir(out)
    shutil.rmtree(stage, ignore_errors=True)
    try:
        merged.save_pretrained(str(stage), max_shard_size=opts.max_shard_size)
        tokenizer.save_pretrained(str(stage))
        del model, merged
        gc.collect()
        reloaded = AutoModelForCausalLM.from_pretrained(str(stage), dtype=torch_dtype(dtype)).eval()
        new, _ = _probe_logits(reloaded, tokenizer, opts.probe_prompts)
        del reloaded
    except BaseException:  # a crash (disk full, Ctrl-C) leaves no half-written folder behind
        shutil.rmtree(stage, ignore_errors=True)
        raise
    max_diff, agreement = compare(ref, new, mask)
    check = MergeCheck(dtype, max_diff, agreement, tolerance, len(opts.probe_prompts), int(mask.sum()))
    log.info(
        "Merge check: max |logit diff| %.3g (tolerance %g), top-1 agreement %.3f",
        max_diff,
        tolerance,
        agreement,
    )
    if not max_diff <= tolerance:  # NaN fails too
        shutil.rmtree(stage, ignore_errors=True)
        raise ConfigError(
            f"merge: the merged model's logits differ from base + adapter by {max_diff:.4g} > "
            f"merge.tolerance={tolerance:g} ({dtype}); nothing was written"
        )
    return stage, check


def write_record(stage: Path, check: MergeCheck, provenance: dict) -> Path:
    """``sftlab_merge.json`` in the merged folder: where it came from and the check's figures."""
    path = stage / MERGE_RECORD
    path.write_text(json.dumps({**provenance, "check": asdict(check)}, indent=2, ensure_ascii=False))
    return path


def publish(stage: Path, out: Path, overwrite: bool) -> Path:
    """Move the checked staging folder to ``out`` (replacing it only with ``overwrite``)."""
    if out.exists():
        if not overwrite:
            shutil.rmtree(stage, ignore_errors=True)
            raise ConfigError(f"out: {out} exists; choose another folder or merge.overwrite=true")
        shutil.rmtree(out)
    os.replace(stage, out)
    return out
