"""Peak training memory of a QLoRA/LoRA run, from the model's config alone (no weights).

The model is instantiated on the meta device (``model_loading.meta_model``), so parameter
counts and layer shapes are exact and nothing is allocated or downloaded. Each term of the
estimate is a formula over those counts:

* base weights — every ``nn.Linear`` but ``lm_head`` is quantized by bitsandbytes:
  NF4/FP4 packs 2 params per byte, plus one absmax per 64-param block (fp32, or uint8 with a
  second-level fp32 absmax per 256 blocks under double quantization) and small per-tensor
  code books; int8 is 1 byte per param plus one fp32 scale per output row. Everything else
  (embeddings, norms, ``lm_head``) is upcast to fp32 by ``prepare_model_for_kbit_training``
  when the base is quantized, and stays in ``model.dtype`` when it is not.
* LoRA parameters ``r * (in + out)`` per targeted module, in fp32 (TRL casts them to bf16 on a
  quantized base; sftlab casts them back, see ``train.trainer``). Gradients: one per parameter.
* optimizer states: two moments per parameter; 8-bit bitsandbytes AdamW stores 1 byte each
  plus an fp32 absmax per 256 values (tensors under 4096 values fall back to 32-bit);
  bitsandbytes 32-bit AdamW 4 bytes each; torch AdamW the parameter's dtype.
* activations kept for backward, per token: attention q/k/v/output, the MLP's gate/up/act
  (gated) or up (GELU) outputs, two residual-width norm inputs per layer, each LoRA module's
  dropout input/mask and its rank-r intermediate; the logits (and their fp32 copy and
  gradient); with gradient checkpointing only each layer's input is kept, plus one layer
  recomputed during backward. A 4-bit matmul dequantizes one weight at a time (a buffer of
  the largest quantized matrix).
* on CUDA: the CUDA context (cuBLAS workspaces, kernels) and a caching-allocator margin.
* under FSDP (``shards`` > 1): weights, LoRA parameters, gradients and optimizer states are
  split over the GPUs (each term / shards); activations and logits are not (each GPU runs its
  own micro-batch). The layers being computed are gathered whole (this one and the prefetched
  next one). A 4-bit model is quantized whole on every GPU before it is sharded (accelerate 1.16
  cannot move ``Params4bit`` to the meta device), so the rest of the 4-bit weights is held once
  at load time: a term of its own, as the peak cannot be lower than the unsharded 4-bit model.

The activation coefficients were checked on CPU against the tensors autograd actually saves
(tests/test_memory_estimate.py); on CUDA, bf16 autocast halves the intermediate tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sftlab.memory.shapes import (
    GIB,
    OPTIMIZERS_8BIT,
    OPTIMIZERS_STATELESS,
    Settings,
    Shapes,
    _dtype_bytes,
    fmt_count,
    layer_activation_bytes_per_token,
    optimizer_bytes,
    quantized_weight_bytes,
    shapes_from_model,
)


@dataclass
class Term:
    """One line of the breakdown."""

    name: str
    bytes: int
    detail: str


@dataclass
class Estimate:
    """The breakdown of one configuration's peak device memory."""

    terms: list[Term]
    settings: Settings
    shapes: Shapes
    label: str = ""

    @property
    def total(self) -> int:
        return sum(t.bytes for t in self.terms)

    def term(self, name: str) -> Term:
        """The term called ``name``."""
        return next(t for t in self.terms if t.name == name)

    def table(self, budget: int | None = None) -> str:
        """The breakdown as a fixed-width table (GiB; MiB for tiny models), with the budget when given."""
        s = self.settings
        unit, scale = ("GiB", GIB) if self.total >= GIB else ("MiB", 2**20)
        head = (
            f"memory estimate{' for ' + self.label if self.label else ''}: {self.shapes.model_type}, "
            f"{fmt_count(self.shapes.total_params)} params, quantization={s.quantization}, lora.r={s.lora_r}, "
            f"micro-batch {s.micro_batch} x {s.seq_len} tokens{' (packed)' if s.packing else ''}, "
            f"grad accumulation {s.grad_accum}, gradient checkpointing {'on' if s.gradient_checkpointing else 'off'}, "
            f"optim={s.optim}, device={s.device}"
            + (f", FSDP over {s.shards} GPUs (per GPU)" if s.shards > 1 else "")
        )
        width = max(len(t.name) for t in self.terms)
        lines = [head, f"  {'term':<{width}}  {unit:>8}  how"]
        for t in self.terms:
            lines.append(f"  {t.name:<{width}}  {t.bytes / scale:8.3f}  {t.detail}")
        lines.append(f"  {'total':<{width}}  {self.total / scale:8.3f}")
        if budget is not None:
            verdict = "fits" if self.total <= budget else "does NOT fit"
            lines.append(f"  {'device budget':<{width}}  {budget / scale:8.3f}  {verdict}")
        return "\n".join(lines)


def estimate(shapes: Shapes, s: Settings, label: str = "") -> Estimate:
    """The breakdown of peak device memory for ``shapes`` trained with settings ``s``."""
    terms: list[Term] = []
    n_q = shapes.quantizable_params
    if s.quantized:
        qbytes = sum(
            quantized_weight_bytes(i, o, s.quantization, s.double_quant) for _, i, o in shapes.quantizable
        )
        if s.quantization == "int8":
            how = f"{fmt_count(n_q)} linear params x 1 B + fp32 row scales"
        else:
            dq = "uint8 absmax/64 + fp32 absmax/16384 (double quant)" if s.double_quant else "fp32 absmax/64"
            how = f"{fmt_count(n_q)} linear params x 0.5 B + {dq}"
        terms.append(Term(f"base weights ({s.quantization})", qbytes, how))
        other_b = 4
        terms.append(
            Term(
                "embeddings/norms/lm_head",
                shapes.other_params * other_b,
                f"{fmt_count(shapes.other_params)} params x 4 B (fp32 after kbit preparation)",
            )
        )
    else:
        b = _dtype_bytes(s.model_dtype)
        terms.append(
            Term(
                f"base weights ({s.model_dtype})",
                shapes.total_params * b,
                f"{fmt_count(shapes.total_params)} params x {b} B",
            )
        )

    lora_n = shapes.lora_params(s.lora_r)
    lora_b = 4  # fp32 always: sftlab undoes TRL's bf16 cast of QLoRA adapters (small updates survive)
    terms.append(
        Term(
            "LoRA parameters",
            lora_n * lora_b,
            f"{fmt_count(lora_n)} = r x (in + out) over {len(shapes.lora_modules)} modules x {lora_b} B",
        )
    )
    terms.append(Term("LoRA gradients", lora_n * lora_b, f"one per LoRA parameter x {lora_b} B"))
    numels = [n for _, i, o in shapes.lora_modules for n in (s.lora_r * i, s.lora_r * o)]
    opt_bytes, opt_how = optimizer_bytes(numels, s.optim, lora_b)
    terms.append(Term(f"optimizer ({s.optim})", opt_bytes, opt_how))
    if s.shards > 1:
        _shard(terms, shapes, s)

    T = s.tokens
    per_layer = layer_activation_bytes_per_token(shapes, s)
    layer_tok = sum(per_layer.values())
    a_res = 4 if s.quantized else (2 if s.device == "cuda" else _dtype_bytes(s.model_dtype))
    if s.gradient_checkpointing:
        kept = (shapes.n_layers + 1) * shapes.hidden * a_res * T + layer_tok * T
        how = (
            f"{T} tokens x ({shapes.n_layers + 1} checkpointed inputs x {shapes.hidden} x {a_res} B "
            f"+ one recomputed layer {layer_tok / 1024:.1f} KiB/token)"
        )
    else:
        kept = shapes.n_layers * layer_tok * T + shapes.hidden * a_res * T
        how = f"{T} tokens x {shapes.n_layers} layers x {layer_tok / 1024:.1f} KiB/token"
    terms.append(Term("activations", int(kept), how))
    logit_b = 10 if s.device == "cuda" else 2 * _dtype_bytes(s.model_dtype)
    terms.append(
        Term(
            "logits + loss",
            T * shapes.vocab * logit_b,
            f"{T} tokens x {shapes.vocab} vocab x {logit_b} B (logits, fp32 copy, gradient)"
            if s.device == "cuda"
            else f"{T} tokens x {shapes.vocab} vocab x {logit_b} B (logits, gradient)",
        )
    )
    if s.quantization in ("nf4", "fp4"):
        biggest = max((i * o for _, i, o in shapes.quantizable), default=0)
        cb = 2 if s.device == "cuda" else _dtype_bytes(s.model_dtype)
        terms.append(
            Term("dequantization buffer", biggest * cb, f"largest 4-bit weight dequantized x {cb} B")
        )
    if s.device == "cuda":
        ctx = int(s.cuda_context_gb * GIB)
        terms.append(Term("CUDA context", ctx, "kernels, cuBLAS workspace (preflight.cuda_context_gb)"))
    subtotal = sum(t.bytes for t in terms)
    terms.append(
        Term(
            "allocator margin",
            int(subtotal * s.allocator_margin),
            f"{s.allocator_margin:.0%} of the above: fragmentation, temporaries (preflight.allocator_margin)",
        )
    )
    return Estimate(terms, s, shapes, label)


def _shard(terms: list[Term], shapes: Shapes, s: Settings) -> None:
    """Divide the state terms (weights, LoRA, grads, optimizer) over ``s.shards`` GPUs, in place,
    and add what FSDP holds unsharded: the gathered layers, and a 4-bit model's load-time copy."""
    weights = sum(t.bytes for t in terms if t.name.startswith(("base weights", "embeddings")))
    layers = next(t.bytes for t in terms if t.name.startswith("base weights"))
    for i, t in enumerate(terms):
        terms[i] = Term(t.name, math.ceil(t.bytes / s.shards), f"{t.detail} / {s.shards} GPUs (FSDP)")
    per_layer = layers / max(shapes.n_layers, 1)
    terms.append(
        Term(
            "FSDP gathered layers",
            int(2 * per_layer),
            f"2 layers' weights whole (the computed one and the prefetched next; ~1/{shapes.n_layers} of the weights each)",
        )
    )
    if s.quantized:
        terms.append(
            Term(
                "4-bit load before sharding",
                weights - math.ceil(weights / s.shards),
                "each GPU quantizes the whole model before fully_shard frees the other shards",
            )
        )


def estimate_config(model_config, s: Settings, label: str = "") -> Estimate:
    """Estimate for a transformers config: builds it on the meta device first."""
    from sftlab.model.loading import meta_model

    return estimate(shapes_from_model(model_config, meta_model(model_config), set(s.lora_targets)), s, label)


def suggest_fits(shapes: Shapes, s: Settings, budget: int, data_max_len: int | None = None) -> list[str]:
    """Up to three sets of overrides that fit ``budget``, keeping the effective batch.

    Tried in order: smaller micro-batch with more accumulation steps; gradient checkpointing;
    an 8-bit optimizer; a shorter ``training.max_length`` at micro-batch 1.
    """
    from dataclasses import replace

    effective = s.micro_batch * s.grad_accum
    out: list[str] = []

    def fits(x: Settings) -> bool:
        return estimate(shapes, x).total <= budget

    def batch_options(base: Settings, extra: list[str]) -> None:
        for b in range(base.micro_batch - 1, 0, -1):
            ga = math.ceil(effective / b)
            if b * ga != effective and b != 1:
                continue  # keep the effective batch exactly where possible
            cand = replace(base, micro_batch=b, grad_accum=ga)
            if fits(cand):
                out.append(
                    " ".join(
                        extra
                        + [
                            f"training.per_device_train_batch_size={b}",
                            f"training.gradient_accumulation_steps={ga}",
                        ]
                    )
                )
                return

    if fits(s):
        return []
    batch_options(s, [])
    if not s.gradient_checkpointing:
        gc = replace(s, gradient_checkpointing=True)
        if fits(gc):
            out.append("training.gradient_checkpointing=true")
        else:
            batch_options(gc, ["training.gradient_checkpointing=true"])
    if s.optim not in OPTIMIZERS_8BIT and s.optim not in OPTIMIZERS_STATELESS:
        o8 = replace(s, optim="paged_adamw_8bit")
        if fits(o8):
            out.append("training.optim=paged_adamw_8bit")
    if not out:
        small = replace(s, micro_batch=1, grad_accum=effective, gradient_checkpointing=True)
        length = s.seq_len // 2
        while length >= 64:
            cand = replace(small, seq_len=length)
            if fits(cand):
                note = (
                    f" (truncates records longer than {length} tokens; the data's longest is {data_max_len})"
                    if data_max_len
                    else ""
                )
                out.append(
                    f"training.per_device_train_batch_size=1 training.gradient_accumulation_steps={effective} "
                    f"training.gradient_checkpointing=true training.max_length={length}{note}"
                )
                break
            length //= 2
    if not out and s.quantization in ("none", "int8"):
        nf4 = replace(s, quantization="nf4", double_quant=True)
        if fits(nf4):
            out.append("quantization=nf4")
    return out[:3]
