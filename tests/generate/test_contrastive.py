"""Contrastive search follows Su et al. (2022) on a PeftModel over a 4-bit base, alpha=0 is
greedy, it never touches remote code; the other decoding methods keep their seeds."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"

PROMPT = "[INST] ¿Cuál es la capital de Ecuador? [/INST]"


def _compose(cache_dir, *overrides):
    from hydra import compose, initialize_config_dir

    from sftlab.config.registry import register_configs

    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(
            config_name="train",
            overrides=[f"paths.cache_dir={cache_dir}", "paths.output_dir=unused", "logger=none", *overrides],
        )


def _load(cfg):
    from sftlab.model.loading import load_model, load_tokenizer, resolve_source
    from sftlab.model.precision import resolve_precision
    from sftlab.model.quantization import build_bnb_config

    source = resolve_source(cfg.model)
    p = resolve_precision(cfg.model.dtype, cfg.quantization.bnb_4bit_compute_dtype, None)
    model = load_model(cfg.model, source, build_bnb_config(cfg.quantization, p.compute_dtype), p.model_dtype)
    return model, load_tokenizer(cfg.model, source)


@pytest.fixture(scope="module")
def peft_4bit(cache_dir):
    """tiny LLaMA in NF4 with a LoRA adapter whose weights are not zero (so it changes the output)."""
    from peft import LoraConfig, get_peft_model

    cfg = _compose(cache_dir, "quantization=nf4")
    base, tok = _load(cfg)
    torch.manual_seed(0)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    model = get_peft_model(base, lora).eval()
    assert getattr(model.base_model.model, "is_loaded_in_4bit", False)
    return cfg, model, tok


def _scores_without_cache(model, prefix: torch.Tensor, k: int, alpha: float):
    """The definition, computed from scratch: full forward passes, no KV cache."""
    with torch.no_grad():
        out = model(input_ids=prefix, output_hidden_states=True)
        probs = out.logits[0, -1].float().softmax(-1)
        context = F.normalize(out.hidden_states[-1][0].float(), dim=-1)  # every previous token
        top_p, top_ids = probs.topk(k)
        extended = torch.cat([prefix.repeat(k, 1), top_ids.view(k, 1)], dim=1)
        cand = model(input_ids=extended, output_hidden_states=True).hidden_states[-1][:, -1].float()
        penalty = (F.normalize(cand, dim=-1) @ context.T).max(-1).values
    return top_ids, (1 - alpha) * top_p - alpha * penalty


def test_each_chosen_token_is_the_argmax_of_the_definition(peft_4bit):
    from sftlab.generate.contrastive import contrastive_search

    _, model, tok = peft_4bit
    ids = tok([PROMPT], return_tensors="pt").input_ids.to(model.device)
    k, alpha = 4, 0.6
    chosen = contrastive_search(model, ids, top_k=k, penalty_alpha=alpha, max_new_tokens=8)
    assert 0 < len(chosen) <= 8
    prefix = ids
    differs_from_greedy = False
    for token in chosen:
        cand_ids, scores = _scores_without_cache(model, prefix, k, alpha)
        best = int(scores.argmax())
        assert token == int(cand_ids[best]), (token, cand_ids.tolist(), scores.tolist())
        top2 = scores.topk(2).values
        assert top2[0] - top2[1] > 1e-5  # a clear winner: no near-tie decided by rounding
        differs_from_greedy |= token != int(cand_ids[0])
        prefix = torch.cat([prefix, torch.tensor([[token]], device=prefix.device)], dim=1)
    # the penalty mattered at least once (otherwise this test would only re-check greedy)
    assert differs_from_greedy


def test_alpha_zero_is_exactly_greedy(peft_4bit):
    from sftlab.generate.contrastive import contrastive_search

    _, model, tok = peft_4bit
    ids = tok([PROMPT], return_tensors="pt").input_ids.to(model.device)
    ours = contrastive_search(
        model, ids, top_k=5, penalty_alpha=0.0, max_new_tokens=12, eos_token_ids=[tok.eos_token_id]
    )
    with torch.no_grad():
        greedy = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            max_new_tokens=12,
            pad_token_id=tok.eos_token_id,
            eos_token_id=tok.eos_token_id,
        )[0, ids.shape[1] :].tolist()
    assert ours == greedy[: len(ours)] and len(ours) == len(greedy)


def test_stops_on_eos_and_max_new_tokens(peft_4bit):
    from sftlab.generate.contrastive import contrastive_search

    _, model, tok = peft_4bit
    ids = tok([PROMPT], return_tensors="pt").input_ids.to(model.device)
    free = contrastive_search(model, ids, top_k=3, penalty_alpha=0.5, max_new_tokens=5)
    assert len(free) == 5
    # declare the 3rd generated token an end-of-sequence token: decoding must stop right there
    stopped = contrastive_search(
        model, ids, top_k=3, penalty_alpha=0.5, max_new_tokens=5, eos_token_ids=[free[2]]
    )
    assert stopped == free[: free.index(free[2]) + 1]


def test_contrastive_answers_never_use_generate_or_remote_code(peft_4bit, monkeypatch):
    """The suite path with method=contrastive runs without transformers' generate or hub code."""
    import transformers.dynamic_module_utils as dyn
    from transformers.generation.utils import GenerationMixin

    from sftlab.generate.methods import generate_answers
    from sftlab.generate.suites import SuitePrompt

    def forbidden(*args, **kwargs):
        raise AssertionError("contrastive search must not call generate() or load remote code")

    monkeypatch.setattr(GenerationMixin, "generate", forbidden)
    monkeypatch.setattr(dyn, "get_class_from_dynamic_module", forbidden)
    cfg, model, tok = peft_4bit
    gen = cfg.generation  # conf/generation/contrastive.yaml is the default
    assert gen.method == "contrastive" and gen.penalty_alpha > 0
    gen.max_new_tokens, gen.num_attempts = 4, 2
    prompts = [SuitePrompt("s", "c1", "contextual", ["Hola", "¿Y ahora?"], [None, None])]
    rows = generate_answers(model, tok, prompts, gen, cfg.model)
    assert [(r["item"], r["attempt"]) for r in rows] == [
        ("c1/t1", 1),
        ("c1/t2", 1),
        ("c1/t1", 2),
        ("c1/t2", 2),
    ]
    assert rows[1]["conversation"].startswith("Usuario: Hola\nAsistente: ")
    assert rows[2]["answer"] == rows[0]["answer"] and "same as attempt 1" in rows[2]["note"]
    assert {r["seed"] for r in rows} == {gen.seed, gen.seed + 1} and {r["method"] for r in rows} == {
        "contrastive"
    }


@pytest.fixture(scope="module")
def plain_model(cache_dir):
    """tiny LLaMA unquantized (the transformers methods need nothing more)."""
    return _load(_compose(cache_dir, "quantization=none"))


@pytest.mark.parametrize("method", ["greedy", "beam", "top_k", "nucleus"])
def test_transformers_methods_record_method_and_seed(cache_dir, plain_model, method):
    from sftlab.generate.methods import generate_answers
    from sftlab.generate.suites import SuitePrompt

    cfg = _compose(
        cache_dir,
        "quantization=none",
        f"generation={method}",
        "generation.max_new_tokens=6",
        "generation.num_attempts=2",
    )
    model, tok = plain_model
    prompts = [SuitePrompt("s", "p1", "simple", ["¿Qué es el IVA?"], [None])]
    rows = generate_answers(model, tok, prompts, cfg.generation, cfg.model)
    assert [r["seed"] for r in rows] == [cfg.generation.seed, cfg.generation.seed + 1]
    assert all(r["method"] == method and 0 < r["new_tokens"] <= 6 for r in rows)
    for r in rows:  # how the answer ended, and its length up to EOS
        assert r["stopped_by"] in ("eos", "max_new_tokens") and r["answer_tokens"] <= r["new_tokens"]
        assert (r["stopped_by"] == "max_new_tokens") == (r["answer_tokens"] == 6)
    if method in ("top_k", "nucleus"):
        again = generate_answers(model, tok, prompts, cfg.generation, cfg.model)
        assert [r["answer"] for r in again] == [r["answer"] for r in rows]  # a seed reproduces its answer
        assert rows[0]["note"] == rows[1]["note"] == ""
    else:
        assert rows[1]["answer"] == rows[0]["answer"] and rows[1]["note"]
