"""The precision decision, pinned on CPU by faking the card; a gpu test checks the present card.

bf16 is chosen on compute capability >= 8.0 only: torch's is_bf16_supported() is True on
pre-Ampere cards too (emulation), which used to hide the fp16 fallback and its note.
"""

from __future__ import annotations

import pytest
import torch

from sftlab.model.precision import BF16_MIN_CAPABILITY, resolve_precision


def _fake_card(monkeypatch, capability):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a, **k: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # what torch 2.13 says on a T4


@pytest.mark.parametrize("capability", [(7, 0), (7, 5)])  # V100, T4 / RTX 20xx
def test_pre_ampere_falls_back_to_fp16_with_a_note(monkeypatch, capability):
    _fake_card(monkeypatch, capability)
    p = resolve_precision("bfloat16", "bfloat16", None)
    assert (p.model_dtype, p.compute_dtype, p.bf16, p.fp16) == ("float16", "float16", False, True)
    assert "model.dtype=bfloat16 is not supported on this GPU; using float16" in p.note
    forced = resolve_precision("bfloat16", "bfloat16", True)
    assert not forced.bf16 and forced.fp16 and "training.bf16=true is not supported" in forced.note


@pytest.mark.parametrize("capability", [(8, 0), (8, 6), (9, 0)])  # A100, RTX 30xx, H100
def test_ampere_and_newer_train_in_bf16(monkeypatch, capability):
    _fake_card(monkeypatch, capability)
    p = resolve_precision("bfloat16", "bfloat16", None)
    assert (p.model_dtype, p.compute_dtype, p.bf16, p.fp16, p.note) == (
        "bfloat16",
        "bfloat16",
        True,
        False,
        "",
    )


def test_cpu_switches_mixed_precision_off(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    p = resolve_precision("bfloat16", "bfloat16", None)
    assert not p.bf16 and not p.fp16


@pytest.mark.gpu
def test_precision_choice_on_the_present_card():
    native = torch.cuda.get_device_capability() >= BF16_MIN_CAPABILITY
    p = resolve_precision("bfloat16", "bfloat16", None)
    assert p.bf16 == native and p.fp16 == (not native)
    x = torch.ones(8, 8, device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16 if p.bf16 else torch.float16):
        assert (x @ x).dtype == (torch.bfloat16 if p.bf16 else torch.float16)
