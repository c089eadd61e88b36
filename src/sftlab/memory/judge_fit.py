"""Preflight for the ``judge=hf_local`` stage: does the judge model fit once the generator is gone?

The judge stage frees the trained model before loading the judge (``judge.stage.free_generator``),
so the judge needs the device to itself: its weights (bf16, or NF4 with ``judge.load_in_4bit``),
the CUDA context and an allocator margin; its KV cache for a few hundred tokens is negligible.
Checked before training, so a judge that cannot fit stops the job before hours of training.
"""

from __future__ import annotations

import logging

from sftlab.config.errors import ConfigError
from sftlab.memory.estimate import GIB
from sftlab.memory.shapes import DTYPE_BYTES, fmt_bytes, quantized_weight_bytes, shapes_from_model

log = logging.getLogger(__name__)


def judge_weight_bytes(shapes, load_in_4bit: bool, dtype: str) -> int:
    """Bytes of the judge's weights: NF4 (double quant) linears + the rest in ``dtype``, or all in ``dtype``."""
    b = DTYPE_BYTES[dtype]
    if not load_in_4bit:
        return shapes.total_params * b
    packed = sum(quantized_weight_bytes(i, o, "nf4", True) for _, i, o in shapes.quantizable)
    return packed + shapes.other_params * b


def judge_need_bytes(cfg, shapes, device: str) -> int:
    """Peak bytes of the hf_local judge on ``device`` (weights, context, allocator margin)."""
    jc, p = cfg.judge, cfg.preflight
    weights = judge_weight_bytes(shapes, bool(jc.get("load_in_4bit", False)), jc.dtype)
    context = int(p.cuda_context_gb * GIB) if device == "cuda" else 0
    return int(weights / (1 - p.allocator_margin)) + context


def check_judge_fits(cfg, tracker=None) -> int | None:
    """Hold the hf_local judge against the device budget; returns its estimate or None (no check).

    Over budget: a ConfigError naming ``judge.load_in_4bit`` / ``judge.model`` when
    ``preflight.enforce`` is on, else a warning. A judge whose config cannot be read (offline)
    is skipped with a warning: its loading will say more.
    """
    jc = cfg.judge
    if jc.kind != "hf_local" or not jc.stage_enabled or not jc.model:
        return None
    from transformers import AutoConfig

    from sftlab.memory.preflight import device_budget, target_device
    from sftlab.model.loading import meta_model

    try:
        config = AutoConfig.from_pretrained(jc.model)
    except Exception as e:  # offline or gated: the judge stage itself will report it
        log.warning(
            "preflight: cannot read the config of judge.model '%s' (%s); judge memory not checked",
            jc.model,
            type(e).__name__,
        )
        return None
    device = target_device(cfg.preflight)
    need = judge_need_bytes(cfg, shapes_from_model(config, meta_model(config), set()), device)
    budget, source = device_budget(cfg.preflight, device)
    if tracker is not None:
        tracker.log_metrics({"preflight/judge_gib": need / GIB})
    print(
        f"judge {jc.model} ({'nf4' if jc.get('load_in_4bit') else jc.dtype}): ~{fmt_bytes(need)} of {fmt_bytes(budget)} ({source})",
        flush=True,
    )
    if need > budget:
        message = (
            f"preflight: the hf_local judge '{jc.model}' needs ~{fmt_bytes(need)} > budget {fmt_bytes(budget)} "
            f"({source}); set judge.load_in_4bit=true or a smaller judge.model, or preflight.enforce=false to try anyway"
        )
        if cfg.preflight.enforce:
            raise ConfigError(message)
        log.warning(message)
    return need
