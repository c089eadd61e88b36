"""What the memory estimate reads (the architecture's shapes, the run's settings) and the byte formulas.

Counts and shapes come from the model instantiated on the meta device; the formulas turn them
into bytes of quantized weights, optimizer states and saved activations (see
:mod:`sftlab.memory.estimate` for how the terms add up).
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
    shards: int = 1  # distributed=fsdp: GPUs the weights, grads and optimizer states are split over

    @property
    def quantized(self) -> bool:
        return self.quantization in ("nf4", "fp4", "int8")

    @property
    def tokens(self) -> int:
        """Tokens in one micro-batch: padded rows, or packed rows flattened into one."""
        return self.micro_batch * self.seq_len


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
    # QLoRA adapters are fp32: autocast saves bf16 copies on CUDA, the CPU keeps the fp32 input.
    a_lora = (2 if s.device == "cuda" else 4) if s.quantized else a_c
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
