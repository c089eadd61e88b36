"""The GPU speed levers: attention implementation, Liger, non-reentrant checkpointing, and the
bench's lever variants and loss-equality column, pinned on CPU."""

from __future__ import annotations

import importlib.util
import types

import pytest
import transformers

from sftlab.config.errors import ConfigError
from sftlab.memory import benchmark
from sftlab.memory.benchmark import Variant, lever_variants, report
from sftlab.model.loading import load_model
from sftlab.model.precision import resolve_precision
from sftlab.train.trainer import build_sft_config, prepare_peft_model
from sftlab.validation import check_values


def _missing(monkeypatch, *names):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n in names else real(n, *a))


def test_flash_attention_without_its_package_is_one_line(compose, monkeypatch):
    _missing(monkeypatch, "flash_attn")
    with pytest.raises(
        ConfigError, match=r"model\.attn_implementation=flash_attention_2: the flash_attn"
    ) as e:
        check_values(compose("model.attn_implementation=flash_attention_2"))
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="model.attn_implementation"):
        check_values(compose("model.attn_implementation=flash"))
    check_values(compose("model.attn_implementation=eager"))


def test_liger_without_its_package_is_one_line(compose, monkeypatch):
    _missing(monkeypatch, "liger_kernel")
    with pytest.raises(ConfigError, match=r"training\.use_liger_kernel=true: the liger_kernel package"):
        check_values(compose("training.use_liger_kernel=true"))
    check_values(compose("training.use_liger_kernel=false"))


def test_the_attention_implementation_reaches_from_pretrained(compose, monkeypatch):
    seen = {}

    def fake(source, **kwargs):
        seen.update(kwargs)
        return types.SimpleNamespace(config=types.SimpleNamespace(use_cache=True))

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", fake)
    cfg = compose("model.attn_implementation=eager")
    load_model(cfg.model, "src", None, "float32")
    assert seen["attn_implementation"] == "eager"
    assert compose().model.attn_implementation == "sdpa"  # the default


def test_checkpointing_is_non_reentrant_in_trainer_and_peft(compose, tmp_path, monkeypatch):
    cfg = compose("training.gradient_checkpointing=true", "training.use_liger_kernel=false")
    precision = resolve_precision(cfg.model.dtype, cfg.quantization.bnb_4bit_compute_dtype, None)
    sft = build_sft_config(cfg.training, str(tmp_path), precision, False)
    assert sft.gradient_checkpointing_kwargs == {"use_reentrant": False}
    assert sft.use_liger_kernel is False
    import peft

    seen = {}
    monkeypatch.setattr(peft, "prepare_model_for_kbit_training", lambda m, **kw: seen.update(kw) or m)
    monkeypatch.setattr(peft, "get_peft_model", lambda m, c: m)
    prepare_peft_model(object(), None, quantized=True, gradient_checkpointing=True)
    assert seen["gradient_checkpointing_kwargs"] == {"use_reentrant": False}


def test_the_bench_measures_what_this_machine_has_and_says_why_not_the_rest(monkeypatch):
    levers, skipped = lever_variants(cuda=False, gradient_checkpointing=False)
    assert [name for name, _ in levers] == ["sftlab packing", "sftlab grad-ckpt on"]
    assert dict(levers)["sftlab grad-ckpt on"] == ["training.gradient_checkpointing=true"]
    assert any(s.startswith("flash_attention_2: needs a CUDA GPU") for s in skipped)
    assert any(s.startswith("liger:") for s in skipped)
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "flash_attn" else object())
    levers, skipped = lever_variants(cuda=True, gradient_checkpointing=True)
    names = [name for name, _ in levers]
    assert "sftlab liger" in names and "sftlab grad-ckpt off" in names and "sftlab flash-attn-2" not in names
    assert skipped == ["flash_attention_2: the flash_attn package is not installed (pip install flash-attn)"]


def test_the_bench_table_puts_loss_equality_next_to_speed():
    def v(name, rate, loss):
        return Variant(name, "x", [], rates=[rate], cpu_rates=[rate], peaks=[1.0], losses=[loss])

    text = report(
        [v("sftlab", 90.0, 2.02), v("plain TRL", 100.0, 2.0), v("sftlab packing", 150.0, 2.1)], "cpu"
    )
    rows = {line.split("  ")[0].strip(): line for line in text.splitlines()}
    assert "0.900x" in rows["sftlab"] and "+1.00%" in rows["sftlab"]
    assert "1.500x" in rows["sftlab packing"] and "+5.00%" in rows["sftlab packing"]
    assert "framework overhead: sftlab / plain TRL = 0.900" in text
    assert "packing speed-up (effective tokens/s): 1.67x" in text
    assert benchmark.CPU_OVERRIDES  # the CPU bench keeps its small-LoRA settings
