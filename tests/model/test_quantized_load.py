"""Every quantized load is really quantized: all three tiny twins under nf4 and int8.

transformers swaps only modules whose type *is* ``nn.Linear``; Falcon's ``FalconLinear``
subclass used to stay full precision (0 quantized layers) while the model was flagged 4-bit.
"""

from __future__ import annotations

import collections

import pytest

from sftlab.config.errors import ConfigError
from sftlab.model import quantization
from sftlab.model.loading import load_model, resolve_source
from sftlab.model.quantization import build_bnb_config, quantized_linear_count

# Projections per tiny twin (2 decoder layers): LLaMA/Mistral 7 each, Falcon 4 each; lm_head stays.
EXPECTED = {"tiny_llama": 14, "tiny_mistral": 14, "tiny_falcon": 8}
LAYER = {"nf4": "Linear4bit", "int8": "Linear8bitLt"}


def _load(compose, model: str, quant: str):
    cfg = compose(f"model={model}", f"quantization={quant}")
    return load_model(
        cfg.model, resolve_source(cfg.model), build_bnb_config(cfg.quantization, "float32"), "float32"
    )


@pytest.mark.parametrize("quant", ["nf4", "int8"])
@pytest.mark.parametrize("model", sorted(EXPECTED))
def test_every_projection_is_quantized(compose, model, quant):
    m = _load(compose, model, quant)
    kinds = collections.Counter(type(x).__name__ for x in m.modules())
    assert quantized_linear_count(m) == EXPECTED[model] == kinds[LAYER[quant]], dict(kinds)
    assert kinds["FalconLinear"] == 0 and kinds["Linear"] == 1  # only lm_head in full precision


def test_falcon_is_still_falcon_linear_without_quantization(compose):
    m = _load(compose, "tiny_falcon", "none")
    assert quantized_linear_count(m) == 0
    assert collections.Counter(type(x).__name__ for x in m.modules())["FalconLinear"] == 8


def test_a_quantized_load_that_quantizes_nothing_is_refused(compose, monkeypatch):
    monkeypatch.setattr(quantization, "LINEAR_SUBCLASSES", {})  # the old behaviour
    with pytest.raises(
        ConfigError, match=r"quantization.load_in_4bit=true: model 'tiny_falcon'.*no quantized"
    ):
        _load(compose, "tiny_falcon", "nf4")
