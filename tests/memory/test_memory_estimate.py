"""The memory estimator, term by term, against counts derived independently of it.

Parameter counts come from the published model sizes and from iterating the meta-device
model here; bytes per parameter from the formats' definitions; the 4-bit/8-bit terms from a
real bitsandbytes model; activations from the tensors autograd really saves for backward.
"""

from __future__ import annotations

import math

import pytest
import torch

from sftlab.memory.estimate import GIB, Settings, estimate, shapes_from_model
from sftlab.model.loading import architecture_config, meta_model

# Published parameter counts of the study's models (model cards / safetensors index).
PUBLISHED_PARAMS = {"llama2_7b_chat": 6_738_415_616, "mistral_7b": 7_241_732_096, "falcon_7b": 6_921_720_704}
# LoRA r=256 on the study's targets, from the shapes: r * (in + out) per module, 32 layers.
LORA_256 = {
    "llama2_7b_chat": 32 * 256 * 4 * (4096 + 4096),
    "mistral_7b": 32 * 256 * (2 * (4096 + 4096) + 2 * (4096 + 1024)),  # GQA: k/v project to 8 heads
    "falcon_7b": 32 * 256 * ((4544 + 4544 + 2 * 64) + (4544 + 4544)),  # fused q + one k/v head (MQA)
}


def _shapes(compose, model: str, *overrides: str):
    cfg = compose(f"model={model}", *overrides)
    config = architecture_config(cfg.model)
    meta = meta_model(config)
    return cfg, meta, shapes_from_model(config, meta, set(cfg.lora.target_modules))


def _independent_counts(meta, targets, r):
    linear, lora, tensors = 0, 0, []
    for name, m in meta.named_modules():
        if isinstance(m, torch.nn.Linear) and not name.endswith("lm_head"):
            linear += m.weight.numel()
            tensors.append((m.in_features, m.out_features))
            if name.rsplit(".", 1)[-1] in targets:
                lora += r * (m.in_features + m.out_features)
    total = sum(p.numel() for p in meta.parameters())
    return linear, total - linear, lora, tensors


@pytest.mark.parametrize("model", ["llama2_7b_chat", "mistral_7b", "falcon_7b", "tiny_llama", "tiny_falcon"])
def test_weights_lora_grads_optimizer_term_by_term(compose, model):
    cfg, meta, shapes = _shapes(compose, model)
    r = cfg.lora.r
    linear, other, lora, tensors = _independent_counts(meta, set(cfg.lora.target_modules), r)
    if model in PUBLISHED_PARAMS:
        assert shapes.total_params == PUBLISHED_PARAMS[model]
        assert shapes.lora_params(r) == LORA_256[model]
    assert (shapes.quantizable_params, shapes.other_params, shapes.lora_params(r)) == (linear, other, lora)

    s = Settings(lora_r=r, lora_targets=tuple(cfg.lora.target_modules), micro_batch=4, seq_len=512)
    est = estimate(shapes, s)
    # NF4 + double quant: 4 bits/param, a uint8 absmax per 64, an fp32 absmax per 64*256, and
    # per tensor a 16-value fp32 NF4 code, a 256-value fp32 nested code and an fp32 offset.
    nf4 = sum(
        math.ceil(i * o / 2) + math.ceil(i * o / 64) + 4 * math.ceil(i * o / 64 / 256) + 16 * 4 + 256 * 4 + 4
        for i, o in tensors
    )
    assert est.term("base weights (nf4)").bytes == nf4
    if model in PUBLISHED_PARAMS:  # per-tensor code books are negligible at 7B: ~4.127 bits/param
        assert 4.12 < 8 * nf4 / linear < 4.13
    assert est.term("embeddings/norms/lm_head").bytes == 4 * other  # fp32 after kbit preparation
    assert est.term("LoRA parameters").bytes == 4 * lora  # fp32 (sftlab undoes TRL's bf16 cast)
    assert est.term("LoRA gradients").bytes == 4 * lora
    # paged 8-bit AdamW: 2 moments x 1 byte + 2 fp32 absmax per 256 values (32-bit below 4096 values)
    lora_tensors = [
        n
        for name, m in meta.named_modules()
        if isinstance(m, torch.nn.Linear) and name.rsplit(".", 1)[-1] in cfg.lora.target_modules
        for n in (r * m.in_features, r * m.out_features)
    ]
    opt8 = sum(2 * n + 8 * math.ceil(n / 256) if n >= 4096 else 8 * n for n in lora_tensors)
    assert est.term("optimizer (paged_adamw_8bit)").bytes == opt8
    est32 = estimate(shapes, Settings(**{**vars(s), "optim": "paged_adamw_32bit"}))
    assert est32.term("optimizer (paged_adamw_32bit)").bytes == 8 * lora

    # int8: one byte per linear param + an fp32 scale per output row; bf16: 2 bytes per param.
    int8 = estimate(shapes, Settings(**{**vars(s), "quantization": "int8"}))
    assert int8.term("base weights (int8)").bytes == linear + 4 * sum(o for _, o in tensors)
    bf16 = estimate(shapes, Settings(**{**vars(s), "quantization": "none"}))
    assert bf16.term("base weights (bfloat16)").bytes == 2 * (linear + other)
    assert bf16.term("LoRA parameters").bytes == 4 * lora  # peft keeps adapters fp32 on a bf16 base

    # CUDA context + margin: the fixed context and 10% of everything else.
    rest = sum(t.bytes for t in est.terms if t.name != "allocator margin")
    assert est.term("CUDA context").bytes == int(0.5 * GIB)
    assert est.term("allocator margin").bytes == int(0.10 * rest)
    assert est.total == rest + int(0.10 * rest)


def test_7b_study_settings_fit_16gb_only_with_checkpointing(compose):
    """The study's settings on a 16 GB card fit with gradient checkpointing; LLaMA/Mistral not without.

    (Falcon's non-gated MLP, single norm and micro-batch 2 keep it at ~10.5 GiB even without.)
    """
    for model in ("llama2_7b_chat", "mistral_7b", "falcon_7b"):
        cfg, _, shapes = _shapes(compose, model)
        t = cfg.training
        s = Settings(
            lora_r=256,
            lora_targets=tuple(cfg.lora.target_modules),
            micro_batch=t.per_device_train_batch_size,
            seq_len=t.max_length,
        )
        on = estimate(shapes, s)
        off = estimate(shapes, Settings(**{**vars(s), "gradient_checkpointing": False}))
        assert 6 * GIB < on.total < 16 * GIB, on.table()
        assert (off.total > 16 * GIB) == (model != "falcon_7b"), off.table()
        # Without checkpointing every layer keeps its activations; with it, one is recomputed.
        assert off.term("activations").bytes > 4 * on.term("activations").bytes


def test_llama_7b_activation_terms_by_hand(compose):
    """LLaMA-2-7B, r=256, 4 x 512 tokens on CUDA (bf16 autocast, fp32 residual after kbit prep)."""
    cfg, _, shapes = _shapes(compose, "llama2_7b_chat")
    s = Settings(lora_r=256, lora_targets=tuple(cfg.lora.target_modules), micro_batch=4, seq_len=512)
    tokens, h, inter, layers, vocab = 4 * 512, 4096, 11008, 32, 32000
    per_token_layer = (
        2 * (h + h + h + h)  # q, k, v, attention output in bf16
        + 2 * 3 * inter  # gate, up, act(gate) in bf16
        + 4 * 2 * h  # two fp32 norm inputs
        + (2 + 1) * 4 * h  # each of 4 LoRA modules: bf16 dropout output + 1-byte dropout mask
        + 2 * 256 * 4  # each LoRA module's rank-256 intermediate, bf16
    )
    assert per_token_layer == 182_784
    on = estimate(shapes, s)
    assert on.term("activations").bytes == tokens * ((layers + 1) * h * 4 + per_token_layer)
    off = estimate(shapes, Settings(**{**vars(s), "gradient_checkpointing": False}))
    assert off.term("activations").bytes == tokens * (layers * per_token_layer + h * 4)
    assert on.term("logits + loss").bytes == tokens * vocab * (2 + 4 + 4)  # bf16, fp32 copy, fp32 grad
    assert on.term("dequantization buffer").bytes == 2 * h * inter  # the biggest 4-bit matrix, in bf16


@pytest.mark.parametrize("quant", ["nf4", "int8"])
def test_quantized_bytes_match_a_real_bitsandbytes_model(compose, quant):
    """Sum of what bitsandbytes actually allocates for a tiny model = the estimator's terms."""
    from sftlab.model.loading import load_model, resolve_source
    from sftlab.model.quantization import build_bnb_config
    from sftlab.train.trainer import prepare_peft_model

    cfg, _, shapes = _shapes(compose, "tiny_llama", f"quantization={quant}")
    model = load_model(cfg.model, resolve_source(cfg.model), build_bnb_config(cfg.quantization), "float32")
    model = prepare_peft_model(
        model, __import__("sftlab.model.adapters").model.adapters.build_lora_config(cfg.lora), True, True
    )
    quantized = other = 0
    for p in model.parameters():
        if p.requires_grad:
            continue
        if p.dtype in (torch.uint8, torch.int8):
            quantized += p.numel() * p.element_size()
            qs = getattr(p, "quant_state", None)
            if qs is not None:
                parts = [qs.absmax, qs.code] + (
                    [qs.state2.absmax, qs.state2.code, qs.offset] if qs.nested else []
                )
                quantized += sum(t.numel() * t.element_size() for t in parts)
            if getattr(p, "SCB", None) is not None:
                quantized += p.SCB.numel() * p.SCB.element_size()
        else:
            other += p.numel() * p.element_size()
    for m in model.modules():  # int8 keeps its row scales on the module's weight after loading
        w = getattr(m, "weight", None)
        if quant == "int8" and w is not None and w.dtype == torch.int8 and getattr(w, "SCB", None) is None:
            quantized += 4 * w.shape[0]
    est = estimate(
        shapes, Settings(quantization=quant, lora_r=cfg.lora.r, lora_targets=tuple(cfg.lora.target_modules))
    )
    assert est.term(f"base weights ({quant})").bytes == quantized
    assert est.term("embeddings/norms/lm_head").bytes == other


def _saved_activation_bytes(model, ids):
    """Bytes of the distinct tensors autograd saves for backward, parameters excluded."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    for m in model.modules():
        qs = getattr(getattr(m, "weight", None), "quant_state", None)
        if qs is not None:
            params |= {qs.absmax.untyped_storage().data_ptr(), qs.code.untyped_storage().data_ptr()}
    saved = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params:
            saved[ptr] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(input_ids=ids, labels=ids)
    return sum(saved.values())


@pytest.mark.parametrize("model_name", ["tiny_llama", "tiny_falcon"])
@pytest.mark.parametrize("checkpointing", [False, True])
def test_activations_match_what_autograd_saves(compose, model_name, checkpointing):
    """Activation + logits terms vs the bytes autograd really keeps (CPU, real 4-bit QLoRA path)."""
    from sftlab.model.adapters import build_lora_config
    from sftlab.model.loading import load_model, resolve_source
    from sftlab.model.quantization import build_bnb_config
    from sftlab.train.trainer import keep_adapter_fp32, prepare_peft_model

    cfg, _, shapes = _shapes(compose, model_name, "lora.r=16")
    model = load_model(cfg.model, resolve_source(cfg.model), build_bnb_config(cfg.quantization), "float32")
    model = prepare_peft_model(model, build_lora_config(cfg.lora), True, checkpointing)
    for p in model.parameters():
        if p.requires_grad:
            p.data = p.data.to(torch.bfloat16)  # as TRL does for QLoRA adapters
    keep_adapter_fp32(model)  # ...and as sftlab undoes it
    if checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model.train()
    b, seq = 2, 48
    measured = _saved_activation_bytes(model, torch.randint(3, 500, (b, seq), device=model.device))

    s = Settings(
        model_dtype="float32",
        lora_r=16,
        lora_targets=tuple(cfg.lora.target_modules),
        micro_batch=b,
        seq_len=seq,
        gradient_checkpointing=checkpointing,
        device="cpu",
    )
    est = estimate(shapes, s)
    from sftlab.memory.estimate import layer_activation_bytes_per_token

    recomputed = sum(layer_activation_bytes_per_token(shapes, s).values()) * b * seq if checkpointing else 0
    # Forward keeps the activations (minus the layer recomputed later in backward) and one copy
    # of the logits; the estimate's logits term also holds their gradient.
    expected = est.term("activations").bytes - recomputed + est.term("logits + loss").bytes / 2
    assert measured == pytest.approx(expected, rel=0.05), (measured, expected)
