"""Where a loaded model goes, pinned on CPU with torch.cuda faked and from_pretrained recorded.

Each torchrun rank loads onto its LOCAL_RANK GPU (accelerate refuses a 4-bit model on another
device than the one it trains on), and unquantized models are placed too (eval, judge and chat
never go through the Trainer, which is what used to move them).
"""

from __future__ import annotations

import types

import pytest
import torch
import transformers

from sftlab.model import quantization
from sftlab.model.loading import load_model
from sftlab.model.placement import model_device_map


@pytest.fixture
def fake_cuda(monkeypatch):
    """``torch.cuda`` of a box with GPUs; returns the list of set_device calls."""
    calls = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", calls.append)
    return calls


@pytest.fixture
def recorded(monkeypatch):
    """Replace from_pretrained: returns the kwargs it got instead of loading."""
    seen = {}

    def fake(source, **kwargs):
        seen.update(kwargs)
        return types.SimpleNamespace(config=types.SimpleNamespace(use_cache=True))

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", fake)
    monkeypatch.setattr(quantization, "check_quantized", lambda *a: 1)
    return seen


MODEL_CFG = types.SimpleNamespace(revision=None, trust_remote_code=False, name="m")


@pytest.mark.parametrize("local_rank", ["0", "1", "3"])
def test_each_rank_loads_on_its_local_gpu(fake_cuda, recorded, monkeypatch, local_rank):
    monkeypatch.setenv("LOCAL_RANK", local_rank)
    monkeypatch.setenv("WORLD_SIZE", "4")
    bnb = transformers.BitsAndBytesConfig(load_in_4bit=True)
    load_model(MODEL_CFG, "src", bnb, "bfloat16")
    assert recorded["device_map"] == {"": int(local_rank)}
    assert fake_cuda == [int(local_rank)]  # set before loading, so this process works on that card


def test_unquantized_model_is_placed_on_the_gpu(fake_cuda, recorded, monkeypatch):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    load_model(MODEL_CFG, "src", None, "bfloat16")
    assert recorded["device_map"] == {"": 0} and "quantization_config" not in recorded


def test_the_merge_keeps_its_unquantized_model_in_ram(fake_cuda, recorded):
    load_model(MODEL_CFG, "src", None, "float32", on_gpu=False)  # merge.py sizes the merge against RAM
    assert "device_map" not in recorded and fake_cuda == []


def test_cpu_gets_no_device_map(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert model_device_map() is None


def test_fsdp_sets_the_rank_device_but_passes_no_device_map(fake_cuda, recorded, monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "1")
    load_model(MODEL_CFG, "src", None, "bfloat16", sharded=True)  # FSDP moves each shard to the GPU
    assert "device_map" not in recorded and fake_cuda == [1]
    # bitsandbytes then quantizes on the current device (its default for device_map=None): cuda:1
    load_model(MODEL_CFG, "src", transformers.BitsAndBytesConfig(load_in_4bit=True), "bfloat16", sharded=True)
    assert "device_map" not in recorded and fake_cuda == [1, 1]
