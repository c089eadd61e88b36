"""QLoRA adapters keep fp32 weights, so a small learning rate still moves every LoRA entry.

TRL casts the trainable parameters of a quantized model to bf16; with no fp32 master copy an
update below half a bf16 spacing (6.1e-5 near 1/64, 4.9e-4 near 0.1) rounds away.
"""

from __future__ import annotations

import torch

from sftlab.data.loading import build_datasets
from sftlab.model.adapters import build_lora_config
from sftlab.model.loading import load_model, load_tokenizer, resolve_source
from sftlab.model.precision import resolve_precision
from sftlab.model.quantization import build_bnb_config
from sftlab.train.trainer import build_sft_config, build_trainer, keep_adapter_fp32, prepare_peft_model


def _qlora_trainer(compose, tmp_path, lr: float, optim: str):
    cfg = compose(
        f"training.optim={optim}",
        "model=tiny_llama",
        "quantization=nf4",
        f"training.learning_rate={lr}",
        "training.lr_scheduler_type=constant",
        "training.warmup_ratio=0",
        "training.weight_decay=0",
        "training.max_steps=3",
        "training.logging_steps=1",
        "lora.dropout=0",
    )
    p = resolve_precision(cfg.model.dtype, cfg.quantization.bnb_4bit_compute_dtype, cfg.training.bf16)
    source = resolve_source(cfg.model)
    tok = load_tokenizer(cfg.model, source)
    model = load_model(cfg.model, source, build_bnb_config(cfg.quantization, p.compute_dtype), p.model_dtype)
    model = prepare_peft_model(model, build_lora_config(cfg.lora), True, cfg.training.gradient_checkpointing)
    train_ds, _ = build_datasets(cfg.dataset, cfg.model)
    args = build_sft_config(cfg.training, str(tmp_path / "ckpt"), p, False)
    return build_trainer(model, tok, train_ds, None, args, [])


def _lora(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n and p.requires_grad}


def test_a_tiny_learning_rate_moves_every_lora_weight(compose, tmp_path):
    """fp32 adapters at lr 1e-5: >= 99.9 % of each LoRA tensor moves in 3 steps (measured 99.98 %
    worst); kept in bf16 (TRL's cast alone), the worst lora_A tensor moves 1.9 %, all 51 %.

    The few entries left have gradients so small that Adam's eps scales their update below the
    fp32 spacing; that is the optimizer, not the storage dtype.
    """
    trainer = _qlora_trainer(compose, tmp_path, lr=1e-5, optim="paged_adamw_8bit")  # the default optim
    before = _lora(trainer.model)
    assert before and {t.dtype for t in before.values()} == {torch.float32}  # TRL's bf16 cast undone
    trainer.train()
    after = _lora(trainer.model)
    for name, value in before.items():
        # lora_B starts at zero and lora_A gets its first gradient at step 2: three steps move all.
        moved = (after[name] != value).float().mean().item()
        assert moved >= 0.999, f"{name}: only {moved:.2%} of entries moved"


def test_keep_adapter_fp32_casts_only_trainable_parameters():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)).to(torch.bfloat16)
    model[0].requires_grad_(False)
    assert keep_adapter_fp32(model) == 2  # weight and bias of the trainable layer
    assert model[1].weight.dtype == torch.float32 and model[0].weight.dtype == torch.bfloat16
