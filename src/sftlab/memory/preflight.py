"""Preflight: estimate a run's peak memory before any weight loads, and stop runs that cannot fit.

``check(cfg, lengths)`` builds the estimate from the composed config (architecture from
``model_loading.architecture_config`` on the meta device, the data's token lengths), prints the
breakdown, and raises a one-line ConfigError with the overrides that would fit when the total
exceeds the device budget and ``preflight.enforce`` is true. In a Hydra sweep that error fails
only the job that cannot fit, before it loads anything; the other jobs run.

Device budget:
* CUDA: the free memory of the current device (``torch.cuda.mem_get_info``).
* CPU: the RAM available now (``psutil.virtual_memory().available``); the CPU path has no
  CUDA context, and what the process already holds (imports) is outside that figure.
* ``preflight.device_memory_gb`` replaces either, and ``preflight.device=cuda`` estimates for
  a GPU from any machine: ``preflight.device=cuda preflight.device_memory_gb=16`` asks
  "does this fit a 16 GB card?" on a laptop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sftlab.config.errors import ConfigError
from sftlab.data.lengths import LengthStats, pack_length, padded_length
from sftlab.memory.estimate import (
    GIB,
    Estimate,
    Settings,
    estimate,
    shapes_from_model,
    suggest_fits,
)
from sftlab.memory.shapes import fmt_bytes
from sftlab.track.metric_names import slug

log = logging.getLogger(__name__)


@dataclass
class Preflight:
    """The estimate, the budget it was held against, and what would fit instead."""

    estimate: Estimate
    budget: int
    budget_source: str
    suggestions: list[str]

    @property
    def fits(self) -> bool:
        return self.estimate.total <= self.budget

    def report(self) -> str:
        """The breakdown table plus the verdict and suggestions, for the console."""
        lines = [self.estimate.table(self.budget), f"  budget: {self.budget_source}"]
        if not self.fits:
            if self.suggestions:
                lines.append("  would fit (same effective batch):")
                lines += [f"    {s}" for s in self.suggestions]
            else:
                lines.append("  nothing fits this budget by changing batch, length or optimizer")
        return "\n".join(lines)


def target_device(pre_cfg) -> str:
    """``cuda`` or ``cpu``: the device the estimate is for."""
    if pre_cfg.device in ("cuda", "cpu"):
        return pre_cfg.device
    if pre_cfg.device not in (None, "auto"):
        raise ConfigError(f"preflight.device: '{pre_cfg.device}' is not auto, cuda or cpu")
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def device_budget(pre_cfg, device: str) -> tuple[int, str]:
    """Bytes available for the run on ``device``, and where the figure comes from."""
    if pre_cfg.device_memory_gb is not None:
        if pre_cfg.device_memory_gb <= 0:
            raise ConfigError(f"preflight.device_memory_gb must be > 0 (got {pre_cfg.device_memory_gb})")
        # GiB, as a card's size is quoted (a "16 GB" card reports 16 GiB or a little less)
        return int(
            pre_cfg.device_memory_gb * GIB
        ), f"preflight.device_memory_gb={pre_cfg.device_memory_gb} (GiB)"
    import torch

    if device == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                "preflight.device=cuda on a machine without CUDA: set preflight.device_memory_gb=<card size>"
            )
        free, total = torch.cuda.mem_get_info()
        return int(free), f"free memory of cuda:{torch.cuda.current_device()} ({total / GIB:.1f} GiB card)"
    import psutil

    return int(psutil.virtual_memory().available), "available RAM (CPU run)"


def settings_from_cfg(cfg, device: str, lengths: LengthStats | None) -> Settings:
    """Estimator settings from the composed run config and the data's token lengths."""
    q, t = cfg.quantization, cfg.training
    if q.load_in_4bit:
        quant = q.bnb_4bit_quant_type
    elif q.load_in_8bit:
        quant = "int8"
    else:
        quant = "none"
    if lengths is None:
        seq = t.max_length
    elif t.packing:
        seq = pack_length(lengths, t.max_length)
    else:
        seq = padded_length(lengths, t.max_length)
    return Settings(
        quantization=quant,
        double_quant=bool(q.bnb_4bit_use_double_quant),
        model_dtype=cfg.model.dtype,
        lora_r=cfg.lora.r,
        lora_targets=tuple(cfg.lora.target_modules),
        lora_dropout=cfg.lora.dropout,
        micro_batch=t.per_device_train_batch_size,
        seq_len=seq,
        grad_accum=t.gradient_accumulation_steps,
        gradient_checkpointing=t.gradient_checkpointing,
        optim=t.optim,
        device=device,
        packing=bool(t.packing),
        cuda_context_gb=cfg.preflight.cuda_context_gb,
        allocator_margin=cfg.preflight.allocator_margin,
        shards=shards(cfg),
    )


def shards(cfg) -> int:
    """GPUs an FSDP run splits its state over: ``preflight.world_size``, else this launch's
    ``WORLD_SIZE``; 1 without ``distributed=fsdp`` (DDP holds the whole model on every GPU)."""
    from sftlab.config.runtime import world_size

    dist = cfg.get("distributed")
    if dist is None or dist.strategy != "fsdp":
        return 1
    n = cfg.preflight.get("world_size") or world_size()
    if n < 1:
        raise ConfigError(f"preflight.world_size must be >= 1 (got {n})")
    return int(n)


def check_settings(cfg) -> None:
    """One-line errors for preflight/packing values that cannot work."""
    p = cfg.preflight
    if p.cuda_context_gb < 0:
        raise ConfigError(f"preflight.cuda_context_gb must be >= 0 (got {p.cuda_context_gb})")
    if not 0 <= p.allocator_margin < 1:
        raise ConfigError(f"preflight.allocator_margin must be in [0, 1) (got {p.allocator_margin})")
    if cfg.training.packing and cfg.training.packing_strategy not in ("bfd", "bfd_split"):
        raise ConfigError(
            f"training.packing_strategy: '{cfg.training.packing_strategy}' is not bfd or bfd_split "
            "(TRL's 'wrapped' lets attention cross record boundaries)"
        )


def plan(cfg, lengths: LengthStats | None = None) -> Preflight:
    """Estimate ``cfg`` against its device budget (no weights are loaded)."""
    from sftlab.model.loading import architecture_config, meta_model

    check_settings(cfg)
    device = target_device(cfg.preflight)
    settings = settings_from_cfg(cfg, device, lengths)
    config = architecture_config(cfg.model)
    shapes = shapes_from_model(config, meta_model(config), set(settings.lora_targets))
    est = estimate(shapes, settings, label=cfg.model.name)
    budget, source = device_budget(cfg.preflight, device)
    suggestions = (
        [] if est.total <= budget else suggest_fits(shapes, settings, budget, lengths and lengths.max)
    )
    return Preflight(est, budget, source, suggestions)


def check(cfg, lengths: LengthStats | None = None, tracker=None) -> Preflight:
    """Print the estimate; raise a ConfigError if it exceeds the budget and enforcement is on."""
    result = plan(cfg, lengths)
    print(result.report(), flush=True)
    if tracker is not None:
        tracker.log_metrics(
            {
                "preflight/estimate_gib": result.estimate.total / GIB,
                "preflight/budget_gib": result.budget / GIB,
                **{f"preflight/{_slug(t.name)}_gib": t.bytes / GIB for t in result.estimate.terms},
            }
        )
        tracker.log_text(result.report(), "preflight.txt")
    if not result.fits:
        fix = (
            f"would fit: {result.suggestions[0]}"
            if result.suggestions
            else "no batch/length/optimizer change fits; use a smaller model or a larger device"
        )
        message = (
            f"preflight: estimated peak {fmt_bytes(result.estimate.total)} > budget "
            f"{fmt_bytes(result.budget)} ({result.budget_source}); {fix}; "
            "or preflight.enforce=false to try anyway"
        )
        if cfg.preflight.enforce:
            raise ConfigError(message)
        log.warning(message)
    return result


def _slug(name: str) -> str:
    return slug(name)  # "logits + loss" -> "logits_loss", never a double underscore
