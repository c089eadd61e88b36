"""Model cards from the record (front matter the Hub reads, no template placeholder), the vLLM
verdict and command, and a Hub push that fails in one line offline or without a network."""

from __future__ import annotations

import pytest

from sftlab.config.errors import ConfigError
from sftlab.track.model_card import RunFacts, build_card, safe_uri
from sftlab.track.vllm import advise, lora_rank_flag

RUN = "0123456789abcdef0123456789abcdef"
ADAPTER_CONFIG = {"r": 256, "lora_alpha": 256, "lora_dropout": 0.2, "target_modules": ["q_proj", "v_proj"]}
CONFIG = {
    "model": {"name": "mistral_7b", "name_or_path": "mistralai/Mistral-7B-v0.1", "license": "apache-2.0",
              "architecture_config": "mistral_7b.json", "prompt_format": "mistral_instruct", "build": None},
    "dataset": {"name": "alpaca_dolly_es", "language": ["es"],
                "sources": [{"hub_id": "bertin-project/alpaca-spanish", "path": None}, {"hub_id": None, "path": "/data/sri.jsonl"}]},
    "eval": {"task": "belebele_spa_Latn", "metric_prefix": "belebele"},
    "generation": {"method": "contrastive", "num_attempts": 3},
    "judge": {"kind": "openai_compatible", "rubric": {"version": "study_2023", "text": "una rúbrica larga"}},
    "paths": {"output_dir": "/home/someone/outputs"},
    "logger": {"tracking_uri": "http://user:secret@mlflow:5000"},
}  # fmt: skip
METRICS = {
    "belebele/acc": 0.61, "belebele/base_acc": 0.52, "belebele/acc_stderr": 0.016, "belebele/delta_acc": 0.09,
    "judge/general_es/simple": 4.1, "judge/general_es/missing_items": 0.0, "human/law_ec/complex": 3.5,
    "data/train_records": 65000.0, "train/final_loss": 0.91,
}  # fmt: skip


def _card(**overrides):
    run = RunFacts(
        RUN, "study", safe_uri("http://user:secret@mlflow:5000"), METRICS, {"data_hash": "ab" * 32}, CONFIG
    )
    kwargs = dict(kind="adapter", meta={"quantization": "nf4"}, adapter_config=ADAPTER_CONFIG, config=None, run=run,
                  location="/models/es-lora")  # fmt: skip
    return build_card(**{**kwargs, **overrides})


def test_card_front_matter_and_facts_without_placeholders():
    card = _card()
    text = str(card)
    data = card.data.to_dict()
    assert data["base_model"] == "mistralai/Mistral-7B-v0.1" and data["library_name"] == "peft"
    assert data["license"] == "apache-2.0" and data["language"] == ["es"]
    assert data["datasets"] == ["bertin-project/alpaca-spanish"] and data["base_model_relation"] == "adapter"
    assert {"sftlab", "lora", "qlora", "mistral", "peft"} <= set(data["tags"])
    assert RUN in text and "ab" * 32 in text and "| acc | 0.520 | 0.610 ± 0.016 | +0.090 |" in text
    assert "| judge/general_es/simple | 4.10 |" in text and "| human/law_ec/complex | 3.50 |" in text
    assert "missing_items" not in text and "una rúbrica larga" not in text  # the rubric by its version
    assert "secret" not in text and "/home/someone" not in text  # no credentials, no local output paths
    for placeholder in ("[More Information Needed]", "{{", "}}", "None", "n/a"):
        assert placeholder not in text, placeholder
    assert "vllm" not in text  # no advice given here


def test_card_says_what_was_not_recorded():
    """Trained with logger=none: no run, no scores; the card says so instead of inventing."""
    card = _card(
        run=None,
        config={"model": {"name": "tiny_llama", "name_or_path": "/cache/tiny", "build": {"seed": 0}}},
    )
    text = str(card)
    assert "base_model" not in card.data.to_dict() and "license" not in card.data.to_dict()
    assert "No benchmark score was recorded (trained with `logger=none`)" in text
    assert "No rubric (judge) scores were recorded." in text and "tiny stand-in" in text
    assert "[More Information Needed]" not in text and "{{" not in text


def test_merged_card_has_the_check_figure():
    merge = {"dtype": "bfloat16", "max_abs_logit_diff": 0.0781, "top1_agreement": 0.935, "tolerance": 1.0,
             "probe_prompts": 3, "probe_tokens": 31}  # fmt: skip
    card = _card(kind="merged", merge=merge)
    data = card.data.to_dict()
    assert (
        data["library_name"] == "transformers"
        and data["base_model_relation"] == "merge"
        and "merge" in data["tags"]
    )
    assert "by at most\n**0.0781** (tolerance 1.0)" in str(card) and "93.5%" in str(card)
    assert "merged into the unquantized base in bfloat16" in str(card)


@pytest.mark.parametrize(
    ("r", "flag"), [(4, 8), (16, 16), (17, 32), (256, 256), (300, 320), (512, 512), (513, None)]
)
def test_vllm_max_lora_rank_is_the_smallest_accepted(r, flag):
    assert lora_rank_flag(r) == flag


def test_vllm_command_for_the_studys_rank():
    advice = advise(
        ADAPTER_CONFIG, "meta-llama/Llama-2-7b-chat-hf", "LlamaForCausalLM", "es-lora", "/models/es lora"
    )
    assert advice.servable
    assert advice.command == (
        "vllm serve meta-llama/Llama-2-7b-chat-hf --enable-lora "
        "--lora-modules 'es-lora=/models/es lora' --max-lora-rank 256"
    )
    assert any("default --max-lora-rank is 16" in line for line in advice.lines)
    odd = advise(ADAPTER_CONFIG, "base", "LlamaForCausalLM", "x", "/a=b")  # vLLM reads it as JSON then
    assert '--lora-modules \'{"name": "x", "path": "/a=b"}\'' in odd.command


def test_vllm_refuses_falcon_and_huge_ranks():
    falcon = advise({"r": 8}, "tiiuae/falcon-7b", "FalconForCausalLM", "x", "/a")
    assert not falcon.servable and falcon.command is None and "sftlab merge" in falcon.lines[0]
    huge = advise({"r": 1024}, "b", "LlamaForCausalLM", "x", "/a")
    assert not huge.servable and "512" in huge.lines[0]


def _hub(repo="me/es-lora"):
    from omegaconf import OmegaConf

    return OmegaConf.create(
        {"repo_id": repo, "private": True, "token_env": "SFTLAB_TEST_HF_TOKEN", "revision": None}
    )


def test_push_offline_fails_in_one_line(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from sftlab.track.hub import push_folder

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ConfigError) as err:
        push_folder(tmp_path, _hub(), "msg")
    assert "\n" not in str(err.value) and "offline (HF_HUB_OFFLINE=1)" in str(err.value)
    assert str(tmp_path) in str(err.value)


def test_push_without_a_network_fails_in_one_line_without_the_token(tmp_path, monkeypatch):
    from huggingface_hub import constants

    from sftlab.track.hub import push_folder

    secret = "hf_sftlabtesttokenthatmustnotleak"
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("SFTLAB_TEST_HF_TOKEN", secret)
    (tmp_path / "README.md").write_text("card")
    with pytest.raises(ConfigError) as err:
        push_folder(tmp_path, _hub(), "msg")
    message = str(err.value)
    assert "\n" not in message and "cannot push to me/es-lora" in message and secret not in message
