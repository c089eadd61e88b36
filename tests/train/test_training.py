"""Training really trains: loss falls on every tiny architecture, and the adapter reloads exactly."""

from __future__ import annotations

import pytest

# One run per architecture; at least one through 4-bit NF4 and one through 8-bit, on the CPU.
CASES = [
    ("tiny_llama", "nf4"),
    ("tiny_mistral", "nf4"),
    ("tiny_falcon", "int8"),
]


@pytest.fixture(scope="module")
def trained(request):
    """Cache of finished runs, keyed by (model, quantization), shared by the tests below."""
    return {}


def _train(compose, model, quant, tmp_path):
    from sftlab.pipeline import run

    cfg = compose(
        f"model={model}",
        f"quantization={quant}",
        "logger=none",
        "eval=none",  # these tests are about training; the eval stage has its own (test_eval_*.py)
        "training.max_steps=40",
        "training.logging_steps=4",
        f"paths.output_dir={tmp_path / model}",
    )
    return run(cfg)


@pytest.mark.parametrize("model, quant", CASES)
def test_loss_falls(compose, tmp_path, model, quant, trained):
    result = _train(compose, model, quant, tmp_path)
    trained[(model, quant)] = result
    first, last = result.metrics["train/first_loss"], result.final_loss
    # Random weights start near ln(vocab) ~ 7.6; forty LoRA steps must take a clear bite out of it.
    assert last < 0.85 * first, (first, last)
    assert result.metrics["train/eval_loss"] < first


def test_adapter_reloads_to_the_same_logits(compose, tmp_path, trained):
    """A fresh 4-bit base plus the saved adapter reproduces the trained model's logits."""
    import torch

    from sftlab.model.loading import load_adapter, load_model, resolve_source
    from sftlab.model.precision import resolve_precision
    from sftlab.model.quantization import build_bnb_config

    key = ("tiny_llama", "nf4")
    result = trained.get(key) or _train(compose, *key, tmp_path)
    cfg = compose("model=tiny_llama", "quantization=nf4")
    p = resolve_precision(cfg.model.dtype, cfg.quantization.bnb_4bit_compute_dtype, None)
    base = load_model(
        cfg.model,
        resolve_source(cfg.model),
        build_bnb_config(cfg.quantization, p.compute_dtype),
        p.model_dtype,
    )
    reloaded = load_adapter(base, result.adapter_dir).eval()
    trained_model = result.model.eval()

    text = ["[INST] ¿Cuál es la capital de Ecuador? [/INST]"]
    ids = result.tokenizer(text, return_tensors="pt").input_ids.to(reloaded.device)  # cuda:0 on a GPU box
    with torch.no_grad():
        a = trained_model(input_ids=ids).logits
        b = reloaded(input_ids=ids).logits
        with reloaded.disable_adapter():
            base_logits = reloaded(input_ids=ids).logits
    assert torch.allclose(a, b, atol=1e-5), (a - b).abs().max()
    # ...and the adapter is not a no-op: without it the logits differ.
    assert not torch.allclose(a, base_logits, atol=1e-3)
