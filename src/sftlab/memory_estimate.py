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
* LoRA parameters ``r * (in + out)`` per targeted module; TRL keeps them in bf16 on a
  quantized base, peft in fp32 otherwise. Gradients: one per parameter, same dtype.
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

The activation coefficients were checked on CPU against the tensors autograd actually saves
(tests/test_memory_estimate.py); on CUDA, bf16 autocast halves the intermediate tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

GIB = 1024**3

DTYPE_BYTES = {"float32": 4, "fp32": 4, "bfloat16": 2, "bf16": 2, "float16": 2, "fp16": 2}

# bitsandbytes constants (0.50): 4-bit blocksize 64, nested blocksize 256, code books of 16 and
# 256 fp32 values, one fp32 offset; 8-bit optimizers use blocks of 256 and go 32-bit below 4096.
NF4_BLOCK = 64
NESTED_BLOCK = 256
NF4_CODE_BYTES = 16 * 4
NESTED_CODE_BYTES = 256 * 4 + 4
OPTIM8_BLOCK = 256
OPTIM8_MIN_SIZE = 4096

OPTIMIZERS_8BIT = {"paged_adamw_8bit", "adamw_8bit", "adamw_bnb_8bit", "paged_lion_8bit", "lion_8bit"}
OPTIMIZERS_BNB_32BIT = {"paged_adamw_32bit", "paged_adamw", "paged_lion_32bit", "lion_32bit"}
OPTIMIZERS_TORCH = {"adamw_torch", "adamw_torch_fused", "adamw_hf", "adamw_torch_xla", "adamw_apex_fused"}
OPTIMIZERS_STATELESS = {"sgd"}


def fmt_count(n: float) -> str:
    """A parameter count as 6.74B or 0.52M."""
    return f"{n / 1e9:.3f}B" if n >= 1e9 else f"{n / 1e6:.2f}M"


def fmt_bytes(n: float) -> str:
    """``n`` bytes in GiB, or in MiB below 1 GiB (tiny models)."""
    return f"{n / GIB:.2f} GiB" if n >= GIB else f"{n / 2**20:.2f} MiB"


@dataclass
class Settings:
    """Everything besides the architecture that changes the peak."""

    quantization: str = "nf4"  # nf4 | fp4 | int8 | none
    double_quant: bool = True
    model_dtype: str = "bfloat16"
    lora_r: int = 256
    lora_targets: tuple[str, ...] = ()
    lora_dropout: float = 0.2
    micro_batch: int = 4
    seq_len: int = 512
    grad_accum: int = 1
    gradient_checkpointing: bool = True
    optim: str = "paged_adamw_8bit"
    device: str = "cuda"  # cuda | cpu
    packing: bool = False
    cuda_context_gb: float = 0.5
    allocator_margin: float = 0.10

    @property
    def quantized(self) -> bool:
        return self.quantization in ("nf4", "fp4", "int8")

    @property
    def tokens(self) -> int:
        """Tokens in one micro-batch: padded rows, or packed rows flattened into one."""
        return self.micro_batch * self.seq_len


@dataclass
class Term:
    """One line of the breakdown."""

    name: str
    bytes: int
    detail: str


@dataclass
class Shapes:
    """What the estimate needs from the architecture, read from the meta-device model."""

    model_type: str
    n_layers: int
    hidden: int
    intermediate: int
    vocab: int
    q_dim: int
    kv_dim: int
    gated_mlp: bool
    norms_per_layer: int
    quantizable: list[tuple[str, int, int]] = field(default_factory=list)  # (name, in, out)
    other_params: int = 0  # embeddings, norms, lm_head, biases: not quantized
    lora_modules: list[tuple[str, int, int]] = field(default_factory=list)  # targeted linears

    @property
    def quantizable_params(self) -> int:
        return sum(i * o for _, i, o in self.quantizable)

    @property
    def total_params(self) -> int:
        return self.quantizable_params + self.other_params

    def lora_params(self, r: int) -> int:
        return sum(r * (i + o) for _, i, o in self.lora_modules)


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


def _cfg_get(config, *names, default=None):
    for n in names:
        v = getattr(config, n, None)
        if v is not None:
            return v
    return default


def shapes_from_model(config, meta, targets) -> Shapes:
    """Read counts and shapes from ``meta`` (a model on the meta device) and its ``config``."""
    import torch

    hidden = int(_cfg_get(config, "hidden_size", "n_embd", "d_model"))
    heads = int(_cfg_get(config, "num_attention_heads", "n_head"))
    head_dim = int(_cfg_get(config, "head_dim", default=hidden // heads))
    if getattr(config, "multi_query", False) and not getattr(config, "new_decoder_architecture", False):
        kv_heads = 1
    else:
        kv_heads = int(_cfg_get(config, "num_key_value_heads", "num_kv_heads", default=heads))
    n_layers = int(_cfg_get(config, "num_hidden_layers", "n_layer"))
    intermediate = int(_cfg_get(config, "intermediate_size", "ffn_hidden_size", default=4 * hidden))
    vocab = int(config.vocab_size)

    quantizable, lora_modules, names = [], [], set()
    linear_weight_ids = set()
    for full, module in meta.named_modules():
        if isinstance(module, torch.nn.Linear):
            leaf = full.rsplit(".", 1)[-1]
            names.add(leaf)
            if leaf == "lm_head":
                continue  # bitsandbytes keeps the output layer in full precision
            quantizable.append((full, module.in_features, module.out_features))
            linear_weight_ids.add(id(module.weight))
            if leaf in targets:
                lora_modules.append((full, module.in_features, module.out_features))
    seen, other = set(), 0
    for p in meta.parameters():
        if id(p) in seen or id(p) in linear_weight_ids:
            continue
        seen.add(id(p))
        other += p.numel()
    parallel = bool(getattr(config, "parallel_attn", False)) and not getattr(
        config, "new_decoder_architecture", False
    )
    return Shapes(
        model_type=config.model_type,
        n_layers=n_layers,
        hidden=hidden,
        intermediate=intermediate,
        vocab=vocab,
        q_dim=heads * head_dim,
        kv_dim=kv_heads * head_dim,
        gated_mlp="gate_proj" in names,
        norms_per_layer=1 if parallel else 2,
        quantizable=quantizable,
        other_params=other,
        lora_modules=lora_modules,
    )


def quantized_weight_bytes(n_in: int, n_out: int, quantization: str, double_quant: bool) -> int:
    """Bytes bitsandbytes holds for one quantized ``n_in x n_out`` linear weight."""
    n = n_in * n_out
    if quantization == "int8":
        return n + 4 * n_out  # int8 values + one fp32 scale (SCB) per output row
    blocks = math.ceil(n / NF4_BLOCK)
    packed = math.ceil(n / 2)
    if double_quant:
        absmax = blocks + 4 * math.ceil(blocks / NESTED_BLOCK) + NESTED_CODE_BYTES
    else:
        absmax = 4 * blocks
    return packed + absmax + NF4_CODE_BYTES


def optimizer_bytes(numels: list[int], optim: str, param_bytes: int) -> tuple[int, str]:
    """Optimizer state bytes for trainable tensors of sizes ``numels``, and how they were counted."""
    if optim in OPTIMIZERS_8BIT:
        total = 0
        for n in numels:
            if n >= OPTIM8_MIN_SIZE:
                total += 2 * n + 2 * 4 * math.ceil(n / OPTIM8_BLOCK)
            else:
                total += 2 * 4 * n
        paged = " (paged: may spill to CPU RAM under pressure)" if optim.startswith("paged") else ""
        return total, f"2 x 1 B/param + fp32 absmax per 256{paged}"
    if optim in OPTIMIZERS_BNB_32BIT:
        return 8 * sum(numels), "2 x 4 B/param (fp32 moments)"
    if optim in OPTIMIZERS_TORCH:
        return 2 * param_bytes * sum(numels), f"2 x {param_bytes} B/param (moments in the param dtype)"
    if optim in OPTIMIZERS_STATELESS:
        return 0, "no state"
    return 8 * sum(numels), f"assumed 2 x 4 B/param (unknown optimizer '{optim}')"


def _dtype_bytes(name: str) -> int:
    return DTYPE_BYTES[name]


def layer_activation_bytes_per_token(shapes: Shapes, s: Settings) -> dict[str, float]:
    """Bytes one decoder layer keeps for backward per token, split into its parts."""
    a_c = 2 if s.device == "cuda" else _dtype_bytes(s.model_dtype)  # bf16 autocast on CUDA
    a_res = 4 if s.quantized else a_c  # kbit preparation upcasts norms/embeddings: fp32 residual
    a_lora = 2 if s.quantized else a_c  # TRL casts QLoRA adapters to bf16
    # shapes.lora_modules lists every targeted module of every layer; average them per layer.
    lora_per_layer = len(shapes.lora_modules) / max(shapes.n_layers, 1)
    lora_in = sum(i for _, i, _ in shapes.lora_modules) / max(shapes.n_layers, 1)
    mask = 1 if s.lora_dropout > 0 else 0
    return {
        "attention": a_c * (2 * shapes.q_dim + 2 * shapes.kv_dim),
        "mlp": a_c * (3 if shapes.gated_mlp else 1) * shapes.intermediate,
        "norms": a_res * shapes.norms_per_layer * shapes.hidden,
        "lora": (a_lora + mask) * lora_in + a_lora * s.lora_r * lora_per_layer,
    }


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
    lora_b = 2 if s.quantized else 4
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


def estimate_config(model_config, s: Settings, label: str = "") -> Estimate:
    """Estimate for a transformers config: builds it on the meta device first."""
    from sftlab.model_loading import meta_model

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
