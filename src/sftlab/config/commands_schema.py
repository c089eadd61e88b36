"""Typed schemas of the commands besides ``train``: eval, report, estimate, bench, review, ...

Each is the root of one YAML in ``conf/`` and reuses the groups of the training schema
(``model``, ``quantization``, ``eval``, ``logger``), so one concept has one spelling in every
command: ``adapter=``, ``logger.tracking_uri=``, ``logger.experiment_name=``.
"""

# ruff: noqa: UP045  (OmegaConf structured configs: keep typing.Optional)
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from omegaconf import MISSING

from sftlab.config.schema import (
    EvalConfig,
    LoggerConfig,
    ModelConfig,
    PathsConfig,
    QuantizationConfig,
)


@dataclass
class EvalRunConfig:
    """Root of ``conf/eval_run.yaml``: an adapter (or a bare base model) on an lm-eval task."""

    model: ModelConfig = MISSING
    quantization: QuantizationConfig = MISSING
    eval: EvalConfig = MISSING
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    adapter: Optional[str] = None  # folder, runs:/<run id>, or a run id; null: the base model
    bf16: Optional[bool] = None
    task_name: str = "eval"


@dataclass
class ReportConfig:
    """Root of ``conf/report.yaml``."""

    logger: LoggerConfig = field(default_factory=LoggerConfig)
    sweep: Optional[str] = None  # latest | a parent run id | a sweep folder; null: the whole experiment
    out: Optional[str] = None  # null: reports/<experiment>[-<sweep>]
    compare_as: dict[str, str] = field(default_factory=dict)  # model name -> study model, for the comparison
    log_to_mlflow: bool = True  # without a sweep: the report goes to a run of its own (sftlab.stage=report)


@dataclass
class RunsConfig:
    """Root of ``conf/runs.yaml`` (``sftlab runs reap``)."""

    logger: LoggerConfig = field(default_factory=LoggerConfig)
    action: str = "reap"  # reap: mark runs whose process is gone KILLED


@dataclass
class ScoresImportConfig:
    """Root of ``conf/scores_import.yaml``."""

    logger: LoggerConfig = field(default_factory=LoggerConfig)
    file: str = MISSING  # the filled-in template (.csv or .jsonl)
    run_id: str = MISSING  # the MLflow run that exported it


@dataclass
class ScoresAgreeConfig:
    """Root of ``conf/scores_agree.yaml``."""

    logger: LoggerConfig = field(default_factory=LoggerConfig)
    run_a: str = MISSING  # a judged MLflow run
    run_b: str = MISSING  # another judged run of the same answers
    confidence: float = 0.95  # of the bootstrap intervals
    seed: int = 0  # of the bootstrap


@dataclass
class ReviewConfig:
    """Root of ``conf/data_review.yaml``."""

    action: str = MISSING  # export | import
    pairs: str = MISSING
    csv: str = MISSING
    output: Optional[str] = None  # import only: the reviewed JSONL


@dataclass
class CheckLeaksConfig:
    """Root of ``conf/data_check_leaks.yaml``."""

    suites: list[str] = field(default_factory=list)
    train: str = MISSING
    format: str = "alpaca"
    question_field: Optional[str] = None
    threshold: float = 0.6
    report: Optional[str] = None
    answer_threshold: float = 0.8


@dataclass
class EstimateOptions:
    """What ``sftlab estimate`` adds to a training config."""

    data: bool = False  # size rows from the data's token lengths (loads tokenizer + data)


@dataclass
class BenchOptions:
    """What ``sftlab bench`` adds to a training config."""

    steps: int = 30
    repeats: int = 2
    threads: Optional[int] = (
        None  # null: 1 on CPU (spinning OpenMP threads skew shared machines), all on CUDA
    )
    cuda: bool = False  # a LLaMA-2-7B-shaped random model on the GPU, at the study's settings


# name -> (node, package). The estimate's and bench's options live under their own key of a
# training config: listed before `train` in their YAML's defaults, the training schema then
# types the root and the options node stays typed beside it (unknown estimate.* keys fail).
SCHEMAS = {
    "eval_run_schema": (EvalRunConfig, None),
    "report_schema": (ReportConfig, None),
    "scores_import_schema": (ScoresImportConfig, None),
    "scores_agree_schema": (ScoresAgreeConfig, None),
    "runs_schema": (RunsConfig, None),
    "data_review_schema": (ReviewConfig, None),
    "data_check_leaks_schema": (CheckLeaksConfig, None),
    "estimate_schema": (EstimateOptions, "estimate"),
    "bench_schema": (BenchOptions, "bench"),
}
