"""``sftlab merge``'s core: the written model answers like base + adapter (within the stated
tolerance), is sharded safetensors with tokenizer and generation config, and nothing is written
when the check fails or the model would not fit in RAM."""

from __future__ import annotations

import json

import pytest
import torch

from sftlab.config.errors import ConfigError

TEXTS = ["¿Cuál es la capital de Ecuador?", "Una frase distinta de las del probe, algo más larga."]


@pytest.fixture(scope="module")
def setup(cache_dir, tmp_path_factory):
    """The merge config for tiny LLaMA and a saved adapter with non-zero (random) LoRA weights."""
    from hydra import compose, initialize_config_dir
    from peft import LoraConfig, get_peft_model

    from sftlab.config.paths import CONF_DIR
    from sftlab.config.registry import register_configs
    from sftlab.model.loading import load_model, resolve_source

    register_configs()
    work = tmp_path_factory.mktemp("merge")
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(
            "merge", [f"paths.cache_dir={cache_dir}", f"paths.output_dir={work}", "merge.max_shard_size=1MB"]
        )
    base = load_model(cfg.model, resolve_source(cfg.model), None, "float32")
    torch.manual_seed(0)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    adapter = work / "adapter"
    n_params = sum(p.numel() for p in base.parameters())
    get_peft_model(base, lora).save_pretrained(str(adapter))
    return cfg, adapter, work, n_params


def _reference_logits(cfg, adapter):
    """base + adapter, loaded independently of the merge code."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(cfg.model.name_or_path)
    base = AutoModelForCausalLM.from_pretrained(cfg.model.name_or_path, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(adapter)).eval()
    ids = tok(TEXTS[1], return_tensors="pt").input_ids
    with torch.no_grad():
        return model(ids).logits, ids


def test_merged_model_matches_base_plus_adapter(setup):
    from transformers import AutoModelForCausalLM

    from sftlab.model.merge import merge_adapter, publish

    cfg, adapter, work, _ = setup
    out = work / "merged"
    stage, check = merge_adapter(cfg.model, str(adapter), out, cfg.merge)
    publish(stage, out, overwrite=False)
    print(
        f"float32 merge: max |logit diff| {check.max_abs_logit_diff:.3g}, top-1 agreement {check.top1_agreement}"
    )
    assert check.dtype == "float32" and check.tolerance == 1e-3
    assert check.max_abs_logit_diff <= 1e-3 and check.top1_agreement == 1.0
    assert check.probe_prompts == len(cfg.merge.probe_prompts) and check.probe_tokens > 10
    files = {p.name for p in out.iterdir()}
    shards = sorted(f for f in files if f.endswith(".safetensors"))
    assert len(shards) > 1 and "model.safetensors.index.json" in files  # 1MB shards
    assert {"config.json", "generation_config.json", "tokenizer.json", "chat_template.jinja"} <= files
    assert json.loads((out / "generation_config.json").read_text())["eos_token_id"] == 2
    assert not any(
        "lora" in k for k in json.loads((out / "model.safetensors.index.json").read_text())["weight_map"]
    )
    # An independent check on a text the merge never saw: the folder answers like base + adapter.
    ref, ids = _reference_logits(cfg, adapter)
    merged = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32).eval()
    with torch.no_grad():
        diff = (merged(ids).logits - ref).abs().max().item()
    assert diff <= 1e-3, diff


def test_bfloat16_merge_is_within_its_stated_tolerance(setup):
    from omegaconf import OmegaConf

    from sftlab.model.merge import DEFAULT_TOLERANCE, merge_adapter

    cfg, adapter, work, _ = setup
    opts = OmegaConf.merge(cfg.merge, {"dtype": "bfloat16"})
    stage, check = merge_adapter(cfg.model, str(adapter), work / "merged-bf16", opts)
    print(
        f"bfloat16 merge: max |logit diff| {check.max_abs_logit_diff:.3g}, top-1 agreement {check.top1_agreement}"
    )
    assert check.tolerance == DEFAULT_TOLERANCE["bfloat16"] and check.max_abs_logit_diff <= check.tolerance
    assert json.loads((stage / "config.json").read_text())["dtype"] == "bfloat16"


def test_a_failed_check_writes_nothing(setup, monkeypatch):
    import sftlab.model.merge as merge

    cfg, adapter, work, _ = setup
    monkeypatch.setattr(merge, "compare", lambda ref, new, mask: (3.5, 0.2))  # as if a module were lost
    out = work / "never"
    with pytest.raises(
        ConfigError, match=r"differ from base \+ adapter by 3.5 > merge.tolerance=0.001.*nothing was written"
    ):
        merge.merge_adapter(cfg.model, str(adapter), out, cfg.merge)
    assert not out.exists() and not merge.staging_dir(out).exists()


def test_refuses_in_one_line_when_it_would_not_fit(setup):
    from sftlab.model.merge import check_fits, estimate

    cfg, adapter, _, n_params = setup
    est = estimate(cfg.model, "float32", str(adapter), "2GB", memory_gb=0.001)
    assert est.params == n_params  # counted on the meta device, no weight loaded
    assert est.need_bytes > 2 * n_params * 4  # the weights, one shard being written, a margin
    with pytest.raises(ConfigError) as err:
        check_fits(est)
    message = str(err.value)
    assert "\n" not in message and "would not fit in RAM" in message and "merge.memory_gb=0.001" in message
    check_fits(estimate(cfg.model, "float32", str(adapter), "2GB", memory_gb=1.0))  # fits: no error
