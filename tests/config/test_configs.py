"""Every option of every config group composes into the schema, validates, and builds its object."""

from __future__ import annotations

from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "conf"


def options(group: str) -> list[str]:
    """The option names of a config group, from the YAML files in conf/<group>/."""
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def test_every_group_has_options():
    for group in ("model", "dataset", "quantization", "lora", "training", "generation", "logger"):
        assert options(group), group


def test_defaults_compose_to_the_study_settings(compose):
    cfg = compose("model=llama2_7b_chat")
    assert cfg.quantization.load_in_4bit and cfg.quantization.bnb_4bit_use_double_quant
    assert (
        cfg.quantization.bnb_4bit_quant_type == "nf4"
        and cfg.quantization.bnb_4bit_compute_dtype == "bfloat16"
    )
    assert (cfg.lora.r, cfg.lora.alpha, cfg.lora.dropout) == (256, 256, 0.2)
    t = cfg.training
    assert (t.lr_scheduler_type, t.num_train_epochs, t.optim) == ("cosine", 3, "paged_adamw_8bit")
    assert (t.weight_decay, t.warmup_ratio, t.max_steps, t.gradient_checkpointing) == (0.001, 0.3, -1, True)
    assert cfg.eval.limit is None


@pytest.mark.parametrize("model", ["tiny_llama", "tiny_falcon", "tiny_mistral"])
def test_tiny_models_bring_the_quick_preset(compose, model):
    """The bare demo stays quick: LoRA and steps sized to a 128-wide model, study kept elsewhere."""
    cfg = compose(f"model={model}")
    assert (cfg.lora.r, cfg.training.max_steps, cfg.training.gradient_checkpointing) == (16, 12, False)
    assert cfg.lora.r < 128  # below the layers' width
    # the user's overrides and experiment presets still win over the preset
    assert compose(f"model={model}", "lora.r=64", "training.max_steps=-1").lora.r == 64
    assert compose(f"model={model}", "training.max_steps=-1").training.max_steps == -1
    assert compose(f"model={model}", "experiment=study_tiny").training.logging_steps == 2


def test_bare_default_is_the_tiny_model(compose):
    assert compose().model.name == "tiny_llama"


@pytest.mark.parametrize("name", ["llama2_7b_chat", "falcon_7b"])
def test_study_learning_rates(compose, name):
    assert compose(f"model={name}").training.learning_rate == 2e-4


def test_mistral_brings_its_learning_rate_and_user_override_wins(compose):
    assert compose("model=mistral_7b").training.learning_rate == 2e-5
    assert compose("model=mistral_7b", "training.learning_rate=1e-4").training.learning_rate == 1e-4


@pytest.mark.parametrize("name", options("model"))
def test_model_option_validates_and_builds(compose, name):
    """Each model entry validates its LoRA targets; 7B entries build a shrunk copy (no download)."""
    import torch
    from peft import get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    from sftlab.model.adapters import build_lora_config, linear_module_names
    from sftlab.model.loading import architecture_config, load_model, load_tokenizer, resolve_source
    from sftlab.validation import validate

    cfg = compose(f"model={name}", "lora.r=4", "lora.alpha=8")
    validate(cfg)
    if cfg.model.build is not None:
        source = resolve_source(cfg.model)
        tok = load_tokenizer(cfg.model, source)
        assert tok.pad_token is not None
        model = load_model(cfg.model, source, None, "float32")
    else:
        # Same architecture and module names as the 7B model, at a size a CPU test can hold.
        values = architecture_config(cfg.model).to_dict()
        values.update(
            num_hidden_layers=1,
            hidden_size=64,
            intermediate_size=128,
            num_attention_heads=4,
            num_key_value_heads=min(4, values.get("num_key_value_heads") or 4),
            vocab_size=128,
        )
        config = AutoConfig.for_model(
            values.pop("model_type"),
            **{k: v for k, v in values.items() if k not in ("architectures", "transformers_version")},
        )
        model = AutoModelForCausalLM.from_config(config)
    assert set(cfg.lora.target_modules) <= set(linear_module_names(model))
    peft_model = get_peft_model(model, build_lora_config(cfg.lora))
    wrapped = {n.rsplit(".", 2)[-2] for n, _ in peft_model.named_modules() if n.endswith("lora_A")}
    assert wrapped == set(cfg.lora.target_modules)
    out = peft_model(input_ids=torch.tensor([[1, 5, 7]]))
    assert out.logits.shape[:2] == (1, 3)


@pytest.mark.parametrize("name", options("quantization"))
def test_quantization_option_builds(compose, name):
    from sftlab.model.quantization import build_bnb_config
    from sftlab.validation import check_values

    cfg = compose(f"quantization={name}")
    check_values(cfg)
    bnb = build_bnb_config(cfg.quantization)
    if name == "none":
        assert bnb is None
    else:
        assert bnb.load_in_4bit == cfg.quantization.load_in_4bit
        assert bnb.load_in_8bit == cfg.quantization.load_in_8bit


@pytest.mark.parametrize("name", options("dataset"))
def test_dataset_option_composes(compose, name):
    """Bundled datasets load and normalize; hub datasets name an id and a known record format."""
    from sftlab.data.records import FIELD_MAPS, load_records

    cfg = compose(f"dataset={name}")
    assert cfg.dataset.sources
    for src in cfg.dataset.sources:
        assert src.format in FIELD_MAPS
        assert bool(src.path) != bool(src.hub_id)
    if all(src.path for src in cfg.dataset.sources):
        records = load_records(cfg.dataset)
        assert len(records) >= 40
        assert all(set(r) == {"instruction", "input", "output"} for r in records)


@pytest.mark.parametrize("name", options("training"))
def test_training_option_builds_sft_config(compose, name):
    from sftlab.model.precision import resolve_precision
    from sftlab.train.trainer import build_sft_config

    cfg = compose(f"training={name}", "model=llama2_7b_chat")  # no tiny preset: the study's values
    p = resolve_precision(cfg.model.dtype, cfg.quantization.bnb_4bit_compute_dtype, cfg.training.bf16)
    args = build_sft_config(cfg.training, "/tmp/unused", p, has_eval=True)
    assert args.learning_rate == cfg.training.learning_rate
    assert args.lr_scheduler_type.value == "cosine"
    assert args.warmup_steps == pytest.approx(0.3)
    assert args.max_length == cfg.training.max_length
    assert args.optim.value == "paged_adamw_8bit"


def test_logging_interval_never_exceeds_the_steps_asked_for(compose):
    """training.max_steps=3 with logging_steps=5 still logs losses (issue: 'logged no loss')."""
    from sftlab.train.trainer import logging_steps

    assert logging_steps(compose("training.max_steps=3", "training.logging_steps=5").training) == 3
    assert logging_steps(compose("training.max_steps=30", "training.logging_steps=5").training) == 5
    assert logging_steps(compose("training.max_steps=-1", "training.logging_steps=5").training) == 5


@pytest.mark.parametrize("name", options("lora"))
def test_lora_option_builds(compose, name):
    from sftlab.model.adapters import build_lora_config

    cfg = compose(f"lora={name}", "lora.r=16")
    lc = build_lora_config(cfg.lora)
    assert lc.r == 16 and set(lc.target_modules) == set(cfg.model.lora_target_modules)


@pytest.mark.parametrize("name", options("generation"))
def test_generation_option_composes(compose, name):
    from sftlab.validation import GENERATION_METHODS, check_values

    cfg = compose(f"generation={name}")
    check_values(cfg)
    assert cfg.generation.method in GENERATION_METHODS
    assert cfg.generation.num_attempts >= 1


@pytest.mark.parametrize("name", options("logger"))
def test_logger_option_builds(compose, name, tmp_path):
    from sftlab.track.tracker import MlflowTracker, NullTracker, make_tracker

    cfg = compose(f"logger={name}", f"logger.experiment_name=cfg-{name}")
    if name == "mlflow":
        cfg.logger.tracking_uri = f"sqlite:///{tmp_path / 'm.db'}"
    tracker = make_tracker(cfg.logger)
    assert isinstance(tracker, MlflowTracker if name == "mlflow" else NullTracker)


@pytest.mark.parametrize("name", options("experiment"))
def test_experiment_option_composes(compose, name):
    compose(f"experiment={name}")


@pytest.mark.parametrize(
    "override, key",
    [
        ("lora.target_modules=[query_key_value]", "lora.target_modules"),
        ("quantization.load_in_8bit=true", "load_in_8bit"),
        ("model.prompt_format=chatml", "model.prompt_format"),
        ("lora.dropout=1.5", "lora.dropout"),
        ("generation.method=magic", "generation.method"),
    ],
)
def test_validation_names_the_key(compose, override, key):
    from sftlab.config.errors import ConfigError
    from sftlab.validation import validate

    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        validate(compose(override))


def test_schema_rejects_unknown_keys_and_wrong_types(compose):
    from hydra.errors import ConfigCompositionException

    with pytest.raises(ConfigCompositionException):
        compose("lora.rank=8")
    with pytest.raises(ConfigCompositionException):
        compose("lora.r=eight")


def test_a_lora_rank_above_the_layers_rank_warns(compose, caplog):
    """The tiny model is 128 wide: r=100000 is legal but only makes the adapter larger."""
    import logging

    from sftlab.validation import check_lora_targets

    with caplog.at_level(logging.WARNING, logger="sftlab.validation"):
        check_lora_targets(compose("lora.r=100000"))
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert line.startswith("lora.r=100000 exceeds the rank") and "lora.r<=" in line
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sftlab.validation"):
        check_lora_targets(compose("lora.r=16"))
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_top_level_seed_is_the_training_seed(compose):
    """`-m seed=1,2,3` as the issue writes it: `seed` sets training.seed (and training.seed= still works)."""
    from sftlab.config.errors import ConfigError
    from sftlab.validation import check_command_line

    assert compose().training.seed == 42
    cfg = compose("seed=3")
    assert (cfg.seed, cfg.training.seed) == (3, 3)
    assert compose("training.seed=5").training.seed == 5
    check_command_line(["seed=3"])  # the unknown-key checker knows it
    check_command_line(["seed=1,2,3", "lora.r=4,8"])  # each sweep value is checked too
    with pytest.raises(ConfigError, match="seeds"):
        check_command_line(["seeds=3"])


def test_seed_alias_and_training_seed_are_one_config(compose):
    """Sweep skip-done and resume find a run by its config hash: seed=3 and training.seed=3 are the same
    run, and a different seed is a different one."""
    from omegaconf import OmegaConf

    from sftlab.track.tracker import config_hash

    def chash(*overrides):
        return config_hash(OmegaConf.to_container(compose(*overrides), resolve=True))

    assert chash("seed=3") == chash("training.seed=3")
    assert chash("seed=3") != chash("seed=4")
