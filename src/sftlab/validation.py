"""Cross-field checks that a schema cannot express, run before any weight is loaded.

Each failure is a ConfigError whose one-line message names the key to change.
"""

from __future__ import annotations

import logging

from sftlab.config.errors import ConfigError

log = logging.getLogger(__name__)

GENERATION_METHODS = ("greedy", "beam", "top_k", "nucleus", "contrastive")
LOGGER_BACKENDS = ("mlflow", "none")
DTYPE_NAMES = ("float32", "fp32", "bfloat16", "bf16", "float16", "fp16")


def _check_choice(key: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(f"{key}: '{value}' is not one of {', '.join(map(str, choices))}")


def _check_positive(key: str, value) -> None:
    # `not value > 0` also catches nan, which every comparison answers False
    if value is None or not value > 0 or value == float("inf"):
        raise ConfigError(f"{key} must be a finite number > 0 (got {value})")


def _check_count(key: str, value) -> None:
    """null (no cap) or a positive count: a negative one would slice with Python's negative index."""
    if value is not None and value <= 0:
        raise ConfigError(f"{key} must be a positive number of records or null for all (got {value})")


ATTN_IMPLEMENTATIONS = ("sdpa", "eager", "flash_attention_2")


def _check_speed_levers(cfg) -> None:
    """The optional fast paths need their packages: say which key and which package, before loading."""
    import importlib.util

    attn = cfg.model.get("attn_implementation", "sdpa")
    _check_choice("model.attn_implementation", attn, ATTN_IMPLEMENTATIONS)
    if attn == "flash_attention_2" and importlib.util.find_spec("flash_attn") is None:
        raise ConfigError(
            "model.attn_implementation=flash_attention_2: the flash_attn package is not installed "
            "(pip install flash-attn, CUDA Ampere or newer); use model.attn_implementation=sdpa"
        )
    if cfg.training.get("use_liger_kernel", False) and importlib.util.find_spec("liger_kernel") is None:
        raise ConfigError(
            "training.use_liger_kernel=true: the liger_kernel package is not installed "
            "(pip install liger-kernel); use training.use_liger_kernel=false"
        )


def check_values(cfg) -> None:
    """Value and combination checks that need no model: ranges, choices, exclusive flags."""
    from sftlab.generate.prompt_formats import check_format

    check_format(cfg.model.prompt_format)
    _check_choice("model.dtype", cfg.model.dtype, DTYPE_NAMES)
    _check_choice("model.padding_side", cfg.model.padding_side, ("left", "right"))
    q = cfg.quantization
    if q.load_in_4bit and q.load_in_8bit:
        raise ConfigError(
            "quantization: load_in_4bit and load_in_8bit are both true; choose one (quantization=nf4 or quantization=int8)"
        )
    _check_choice("quantization.bnb_4bit_quant_type", q.bnb_4bit_quant_type, ("nf4", "fp4"))
    _check_choice("quantization.bnb_4bit_compute_dtype", q.bnb_4bit_compute_dtype, DTYPE_NAMES)
    _check_positive("lora.r", cfg.lora.r)
    _check_positive("lora.alpha", cfg.lora.alpha)
    if not 0.0 <= cfg.lora.dropout < 1.0:
        raise ConfigError(f"lora.dropout must be in [0, 1) (got {cfg.lora.dropout})")
    t = cfg.training
    _check_positive("training.learning_rate", t.learning_rate)
    _check_positive("training.per_device_train_batch_size", t.per_device_train_batch_size)
    _check_positive("training.gradient_accumulation_steps", t.gradient_accumulation_steps)
    _check_positive("training.max_length", t.max_length)
    _check_positive("training.logging_steps", t.logging_steps)
    if t.max_steps < -1 or t.max_steps == 0:
        raise ConfigError(
            f"training.max_steps must be > 0, or -1 to train training.num_train_epochs (got {t.max_steps})"
        )
    if t.max_steps <= 0 and not t.num_train_epochs > 0:
        raise ConfigError("training: set training.num_train_epochs > 0 or training.max_steps > 0")
    if not 0.0 <= t.warmup_ratio < 1.0:
        raise ConfigError(f"training.warmup_ratio must be in [0, 1) (got {t.warmup_ratio})")
    if not 0.0 <= cfg.dataset.eval_fraction < 1.0:
        raise ConfigError(f"dataset.eval_fraction must be in [0, 1) (got {cfg.dataset.eval_fraction})")
    _check_speed_levers(cfg)
    _check_choice("generation.method", cfg.generation.method, GENERATION_METHODS)
    _check_positive("generation.repetition_penalty", cfg.generation.repetition_penalty)
    _check_positive("generation.temperature", cfg.generation.temperature)
    _check_positive("generation.max_new_tokens", cfg.generation.max_new_tokens)
    if not 0.0 < cfg.generation.top_p <= 1.0:
        raise ConfigError(f"generation.top_p must be in (0, 1] (got {cfg.generation.top_p})")
    _check_count("dataset.max_records", cfg.dataset.max_records)
    if not 0.0 <= cfg.dataset.get("allow_dropped", 0.0) <= 1.0:
        raise ConfigError(
            f"dataset.allow_dropped must be a share in [0, 1] (got {cfg.dataset.allow_dropped})"
        )
    for i, src in enumerate(cfg.dataset.sources):
        _check_count(f"dataset.sources.{i}.max_records", src.max_records)
    if "eval" in cfg and cfg.eval.enabled:
        _check_count("eval.limit", cfg.eval.limit)
        _check_positive("eval.batch_size", cfg.eval.batch_size)
    _check_choice("logger.backend", cfg.logger.backend, LOGGER_BACKENDS)
    if cfg.logger.backend == "mlflow" and not cfg.logger.tracking_uri:
        raise ConfigError(
            "logger.tracking_uri is empty; set it (e.g. sqlite:///mlflow.db) or use logger=none"
        )
    from sftlab.track.registry import check_target

    check_target(cfg.logger)  # logger.register_model needs MLflow


def check_command_line(args: list[str]) -> None:
    """``sftlab train`` overrides checked before Hydra starts: keys, group options, then values.

    A typo costs a second and one ``error:`` line instead of the heavy imports, a meta model and
    a FAILED MLflow run. Sweep values (``lora.r=4,8``) are checked one by one the same way, so a
    bad one stops the sweep before its parent run opens (each job checks its own again).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    from sftlab.config.compose import compose
    from sftlab.config.keys import check_composed, check_override, config_groups, explain_compose_error
    from sftlab.config.schema import RunConfig

    plain = [a for a in args if "=" in a and not a.startswith("-")]
    # a user's own config folder (hydra.searchpath) may add group options: Hydra judges those
    own_configs = any(a.lstrip("+").startswith("hydra.searchpath") for a in plain)
    groups = config_groups()
    for arg in plain:
        check_override(arg, RunConfig, groups, check_options=not own_configs)
    try:
        parsed = OverridesParser.create().parse_overrides(plain)
    except HydraException as e:
        raise ConfigError(f"{str(e).splitlines()[0]}") from None
    single = [arg for arg, o in zip(plain, parsed, strict=True) if not o.is_sweep_override()]
    try:
        cfg = compose("train", single)
    except ConfigError as e:
        explained = explain_compose_error(e.__cause__ or e.__context__ or e, RunConfig, groups)
        raise (explained or e) from None
    check_composed(cfg, RunConfig)
    check_values(cfg)
    _check_swept_values(single, parsed, RunConfig, groups)
    if cfg.logger.backend == "mlflow":  # before Hydra makes a run folder or MLflow retries
        from sftlab.track.tracker import check_tracking_uri

        check_tracking_uri(cfg.logger.tracking_uri, cfg.logger.connect_timeout_s)
    check_hub_ids(cfg)
    check_local_data(cfg)


def _check_swept_values(single: list[str], parsed, schema, groups) -> None:
    """Each value of a comma-list or range sweep (``training.max_steps=-5,10``), composed alone with
    the other overrides, passes the same checks as a single run: a bad value stops the sweep before
    its parent run or any job starts. Interval sweeps (Optuna) have no values to list."""
    from sftlab.config.compose import compose
    from sftlab.config.keys import check_composed, explain_compose_error

    for override in parsed:
        if not override.is_sweep_override() or override.is_interval_sweep():
            continue
        for value in override.sweep_string_iterator():
            try:
                cfg = compose("train", [*single, f"{override.get_key_element()}={value}"])
            except ConfigError as e:
                explained = explain_compose_error(e.__cause__ or e.__context__ or e, schema, groups)
                raise (explained or e) from None
            check_composed(cfg, schema)
            check_values(cfg)


def check_local_data(cfg) -> None:
    """Local JSON/JSONL training files, every record, before Hydra starts (no heavy import needed).

    CSV/parquet go through ``datasets`` and hub sources through the download: both in the job.
    """
    from sftlab.data.records import source_records

    for i, src in enumerate(cfg.dataset.sources):
        if src.path and not src.hub_id and str(src.path).lower().endswith((".json", ".jsonl")):
            source_records(src, i, cfg.dataset.get("allow_dropped", 1.0))


def check_hub_ids(cfg) -> None:
    """The model and dataset hub ids are cached or reachable (sweeps: the ones not swept)."""
    import re

    from sftlab.config.keys import group_options
    from sftlab.model.hub_check import check_dataset_id, check_model_id

    tiny = "tiny_" + re.match(r"[a-z]*", str(cfg.model.name)).group(
        0
    )  # falcon_7b, llama2 -> tiny_falcon, tiny_llama
    check_model_id(cfg.model, tiny if tiny in group_options("model") else None)
    for i, src in enumerate(cfg.dataset.sources):
        if src.hub_id and not src.path:
            check_dataset_id(src.hub_id, f"dataset.sources.{i}.hub_id")
    if "eval" in cfg and cfg.eval.enabled and cfg.eval.data.source == "hub":
        # lm-eval's belebele tasks read the hub's facebook/belebele; offline it would fail after training
        check_dataset_id(BELEBELE_HUB_ID, f"eval={cfg.eval.name} (eval.data.source=hub)")


BELEBELE_HUB_ID = "facebook/belebele"


def check_lora_targets(cfg) -> list[str]:
    """Check ``lora.target_modules`` against the architecture's linear modules (meta device).

    Returns the available module names.
    """
    from sftlab.model.adapters import check_targets, linear_module_names, rank_warning
    from sftlab.model.loading import architecture_config, meta_model

    config = architecture_config(cfg.model)
    model = meta_model(config)
    available = linear_module_names(model)
    arch = (getattr(config, "architectures", None) or [type(config).__name__.replace("Config", "")])[0]
    check_targets(list(cfg.lora.target_modules), available, f"{cfg.model.name} ({config.model_type})")
    log.debug("LoRA targets %s valid for %s", list(cfg.lora.target_modules), arch)
    warning = rank_warning(model, list(cfg.lora.target_modules), int(cfg.lora.r))
    if warning:  # legal, so a warning: e.g. the study's r=256 on a 128-wide tiny model
        log.warning(warning)
    return available


def validate(cfg) -> None:
    """All config checks that run before data or weights are loaded."""
    check_values(cfg)
    if cfg.judge.kind != "none" and cfg.judge.stage_enabled:
        from sftlab.judge.stage import preflight

        preflight(cfg)  # a judging stage must not fail on its settings after the training
    check_lora_targets(cfg)
    if "eval" in cfg and cfg.eval.enabled:  # a bad task name or data file fails before training
        from sftlab.evaluation.control import check_control
        from sftlab.evaluation.lm_eval_tasks import check_task

        check_task(cfg.eval)
        check_control(cfg.eval)  # the English control's data too (eng_full offline: one line)
