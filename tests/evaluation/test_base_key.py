"""The base-score cache key: anything that can move a score is in it."""

from __future__ import annotations

from types import SimpleNamespace

from sftlab.evaluation import base_scores
from sftlab.evaluation.base_scores import base_key, base_key_parts

MODEL = SimpleNamespace(build=None, name_or_path="mistralai/Mistral-7B-v0.1", revision=None)
QUANT = {"name": "nf4", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4"}
PRECISION = {"model_dtype": "bfloat16", "compute_dtype": "bfloat16"}
SPEC = SimpleNamespace(task="belebele_spa_Latn", data_id="abc")


def _key(batch_size=8, device="cuda", **eval_kw):
    ev = SimpleNamespace(num_fewshot=0, limit=None, batch_size=batch_size, **eval_kw)
    return base_key(base_key_parts(MODEL, QUANT, PRECISION, SPEC, ev, device))


def test_batch_size_device_and_library_versions_change_the_key(monkeypatch):
    key = _key()
    assert key == _key()  # stable
    assert _key(batch_size=16) != key
    assert _key(device="cpu") != key
    versions = base_scores.stack_versions()
    assert set(versions) >= {"lm_eval", "transformers", "torch", "bitsandbytes"}
    for dist in ("lm_eval", "transformers", "torch", "bitsandbytes"):
        monkeypatch.setattr(base_scores, "stack_versions", lambda d=dist: {**versions, d: "0.0.0"})
        assert _key() != key, dist
    monkeypatch.undo()
    assert _key() == key


def test_device_type_reads_where_the_weights_are():
    import torch

    assert base_scores.device_type(torch.nn.Linear(2, 2)) == "cpu"
    assert base_scores.device_type(object()) == "unknown"
