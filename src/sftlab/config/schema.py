"""Typed schema of the whole run configuration.

Hydra merges every YAML of ``conf/`` into these dataclasses, so an unknown key or a value
of the wrong type fails at compose time, before anything heavy is imported. Defaults that
matter live in the YAML files (with their trade-offs); the defaults here only make the
dataclasses constructible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from sftlab.config.judge_schema import JudgeConfig


@dataclass
class TinyBuildConfig:
    """How to build a tiny stand-in model locally: a real architecture config, shrunk."""

    base_config: str = MISSING  # a JSON under assets/model_configs/, e.g. llama2_7b_chat.json
    overrides: dict[str, Any] = field(default_factory=dict)
    seed: int = 0


@dataclass
class ModelConfig:
    """The base model: where it comes from, how it is prompted and padded, its LoRA targets."""

    name: str = MISSING
    name_or_path: str = MISSING  # hub id or local folder
    revision: str | None = None
    dtype: str = "bfloat16"
    prompt_format: str = "llama2_chat"
    system_prompt: str | None = None
    pad_token: str | None = None  # null: reuse the EOS token
    padding_side: str = "right"
    lora_target_modules: list[str] = field(default_factory=list)
    learning_rate: float = 2e-4
    batch_size: int = 4
    architecture_config: str | None = None  # shipped config.json used for offline checks
    trust_remote_code: bool = False
    build: TinyBuildConfig | None = None
    license: str | None = None  # the base model's licence (model card); null: read from its card
    attn_implementation: str = "sdpa"  # sdpa | eager | flash_attention_2 (needs the flash_attn package)


@dataclass
class DataSourceConfig:
    """One source of records: a local file or a hub dataset, in a known record format."""

    path: str | None = None
    hub_id: str | None = None
    subset: str | None = None
    split: str = "train"
    format: str = "alpaca"  # alpaca | dolly | qa
    max_records: int | None = None
    name: str | None = None  # label in the data statistics; null: derived from path / hub id
    weight: float = 1.0  # share of this source under dataset.mix=interleave


@dataclass
class LeakCheckConfig:
    """Evaluation suites whose questions must not appear in the training data."""

    # bundled suite names or JSONL files of evaluation questions (+ reference answers)
    suites: list[str] = field(default_factory=lambda: ["general_es", "law_ec"])
    question_field: str | None = None  # null: the first of prompt/question/instruction/text/turns
    near_threshold: float = 0.6  # TF-IDF cosine (stemmed word 1-2-grams) counted as a paraphrase
    on_leak: str = "fail"  # fail | drop | warn
    answer_threshold: float = 0.8  # TF-IDF cosine of an output with a suite's reference answer


@dataclass
class DatasetConfig:
    """The training data: its sources (concatenated), shuffling and the held-out split."""

    name: str = MISSING
    sources: list[DataSourceConfig] = field(default_factory=list)
    eval_fraction: float = 0.05
    shuffle_seed: int = 42
    max_records: int | None = None
    mix: str = "concat"  # concat | interleave (weighted by sources.N.weight, seeded by mix_seed)
    mix_seed: int = 42
    dedup: bool = False  # drop records whose instruction+input repeats an earlier one
    min_tokens: int | None = None  # drop records shorter than this (prompt + answer tokens)
    max_tokens: int | None = None  # drop records longer than this instead of truncating them
    leak_check: LeakCheckConfig = field(default_factory=LeakCheckConfig)
    language: list[str] = field(default_factory=list)  # ISO 639-1 codes of the text (model card)
    allow_dropped: float = 0.1  # share of records without instruction/output dropped silently; more: error


@dataclass
class QuantizationConfig:
    """bitsandbytes settings used to load the base model."""

    name: str = MISSING
    load_in_4bit: bool = False
    load_in_8bit: bool = False
    bnb_4bit_quant_type: str = "nf4"
    bnb_4bit_use_double_quant: bool = True
    bnb_4bit_compute_dtype: str = "bfloat16"


@dataclass
class LoraConfig:
    """peft LoRA settings."""

    r: int = 256
    alpha: int = 256
    dropout: float = 0.2
    target_modules: list[str] = field(default_factory=list)
    bias: str = "none"


@dataclass
class TrainingConfig:
    """TRL SFT settings (the study's Table 2 by default)."""

    num_train_epochs: float = 3.0
    max_steps: int = -1
    learning_rate: float = 2e-4
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.3
    optim: str = "paged_adamw_8bit"
    weight_decay: float = 0.001
    max_grad_norm: float = 0.3
    per_device_train_batch_size: int = 4
    per_device_eval_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    max_length: int = 512
    gradient_checkpointing: bool = True
    logging_steps: int = 5
    seed: int = 42
    bf16: bool | None = None  # null: use bf16 where the hardware supports it
    completion_only_loss: bool = True
    save_checkpoints: bool = False
    packing: bool = False  # pack records into blocks sized from the data (attention stays per record)
    packing_strategy: str = "bfd"  # bfd | bfd_split (TRL); both padding-free with per-record positions
    save_steps: int = 100  # checkpoint interval in optimizer steps; 0: once per epoch
    save_total_limit: int = 2  # keep the newest N checkpoints; 0 keeps all
    use_liger_kernel: bool = False  # Liger's fused Triton kernels (needs the liger_kernel package, CUDA)


@dataclass
class GenerationConfig:
    """Decoding settings for the generation/judge stages."""

    method: str = "greedy"  # greedy | beam | top_k | nucleus | contrastive
    max_new_tokens: int = 256
    num_attempts: int = 3
    do_sample: bool = False
    num_beams: int = 1
    top_k: int = 0
    top_p: float = 1.0
    temperature: float = 1.0
    penalty_alpha: float = 0.0
    repetition_penalty: float = 1.0
    seed: int = 1234


@dataclass
class EvalDataConfig:
    """Where the evaluation task reads its questions from."""

    source: str = "hub"  # hub: the task's own hub dataset | local: the JSONL file in ``path``
    path: str | None = None
    format: str | None = None  # record format checked before evaluating (belebele) or null
    synthetic: bool = False  # data written by the project in the benchmark's format, not the benchmark


@dataclass
class EvalConfig:
    """lm-eval evaluation of the trained model, with and without its adapter."""

    name: str = "none"
    enabled: bool = False
    task: str | None = None  # any lm-eval task name, e.g. belebele_spa_Latn
    metric_prefix: str | None = None  # MLflow metric names: <prefix>/acc, <prefix>/base_acc, ...
    num_fewshot: int = 0
    limit: int | None = None  # first N questions only; null: all
    batch_size: int = 8
    evaluate_base: bool = True
    reuse_base_score: bool = True
    log_samples: bool = True
    # Paired adapter-vs-base statistics (need log_samples): bootstrap CI of the accuracy delta.
    confidence_level: float = 0.95
    bootstrap_resamples: int = 10000
    bootstrap_seed: int = 0
    chat_template: str = (
        "false"  # false: plain prompts | true: the model's chat template (<prefix>_chat/) | both
    )
    every_n_steps: int | None = (
        None  # also score the task every N optimizer steps while training; null/0: off
    )
    data: EvalDataConfig = field(default_factory=EvalDataConfig)
    # The same benchmark in English, scored in the same run: none | eng_sample | eng_full
    control: str = "none"
    control_prefix: str = "belebele_eng"  # MLflow: belebele_eng/acc, belebele_eng/base_acc, ...


@dataclass
class SweepConfig:
    """What sweeps optimise: any logged metric, minimised or maximised."""

    objective: str = "eval_loss"  # eval_loss | final_loss | belebele/acc | judge/general_es/mean | ...
    direction: str = "minimize"  # minimize | maximize


@dataclass
class LoggerConfig:
    """Experiment tracking backend."""

    backend: str = "mlflow"  # mlflow | none
    tracking_uri: str | None = None
    experiment_name: str = "sftlab"
    run_name: str | None = None
    log_adapter: bool = True
    connect_timeout_s: float = 5.0
    register_model: str | None = None  # MLflow Model Registry name: each trained adapter becomes a version
    heartbeat_interval_s: float = 60.0  # an open run's sftlab.heartbeat tag is refreshed this often
    heartbeat_timeout_s: float = 900.0  # a run of another host without a heartbeat this long is reaped


@dataclass
class PreflightConfig:
    """Memory preflight: estimate before loading, stop runs that cannot fit."""

    enforce: bool = True
    device: str | None = None  # null/auto: the device this run trains on; cuda | cpu
    device_memory_gb: float | None = None  # null: free memory of the device (CPU: available RAM)
    cuda_context_gb: float = 0.5
    allocator_margin: float = 0.10
    world_size: int | None = None  # distributed=fsdp: GPUs to shard over in the estimate; null: WORLD_SIZE


@dataclass
class FsdpConfig:
    """FSDP2 settings passed to accelerate through TRL's ``SFTConfig(fsdp=True, fsdp_config=...)``."""

    # null: the model's own ``_no_split_modules`` (LlamaDecoderLayer, MistralDecoderLayer, FalconDecoderLayer)
    transformer_layer_cls_to_wrap: list[str] | None = None
    reshard_after_forward: bool = True  # false: no re-gather in backward (faster, more memory)
    cpu_offload: bool = False  # sharded params/grads/optimizer in RAM: fits more, much slower
    cpu_ram_efficient_loading: bool = (
        True  # unquantized bases: rank 0 reads the weights, others get a broadcast
    )
    state_dict_type: str = "FULL_STATE_DICT"  # FULL_STATE_DICT | SHARDED_STATE_DICT (checkpoints)


@dataclass
class DistributedConfig:
    """How the ranks of a ``torchrun`` / ``accelerate launch`` job share the work."""

    name: str = "none"
    strategy: str = "none"  # none | ddp | fsdp
    fsdp: FsdpConfig = field(default_factory=FsdpConfig)


@dataclass
class PathsConfig:
    """Folders: where tiny models are built and where run outputs go."""

    cache_dir: str = MISSING
    output_dir: str = MISSING
    outputs_root: str | None = None  # resume=true follows a run's folder only below this (null: cwd)


@dataclass
class RunConfig:
    """The root of the composed configuration."""

    model: ModelConfig = MISSING
    dataset: DatasetConfig = MISSING
    quantization: QuantizationConfig = MISSING
    lora: LoraConfig = field(default_factory=LoraConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    preflight: PreflightConfig = field(default_factory=PreflightConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    task_name: str = "train"
    force: bool = False  # sweeps: rerun jobs whose config already has a FINISHED run
    sweep: SweepConfig = field(default_factory=SweepConfig)
    resume: bool = False  # continue this config's unfinished run from its last checkpoint
    seed: int = 42  # the run's seed; training.seed follows it (conf/training/default.yaml)


@dataclass
class JudgeRunConfig:
    """Root of ``conf/judge_run.yaml``: generate and grade answers of a base model or adapter."""

    model: ModelConfig = MISSING
    quantization: QuantizationConfig = MISSING
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    adapter: str | None = None  # a saved adapter folder; null grades the base model
    task_name: str = "judge"
