"""Typed schemas of the commands after training: ``sftlab chat``, ``sftlab merge``, ``sftlab export``.

Each reuses the groups of the training schema (``model``, ``quantization``, ``generation``,
``logger``) and the one spelling ``adapter=<folder | runs:/<run id> | run id>``.
"""

# ruff: noqa: UP045  (OmegaConf structured configs: keep typing.Optional)
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from omegaconf import MISSING

from sftlab.config.schema import GenerationConfig, LoggerConfig, ModelConfig, PathsConfig, QuantizationConfig


@dataclass
class ChatOptions:
    """What ``sftlab chat`` adds: a one-shot prompt."""

    prompt: Optional[str] = None  # one answer and exit; null: stdin (not a terminal) or interactive


@dataclass
class ChatRunConfig:
    """Root of ``conf/chat.yaml``."""

    model: ModelConfig = MISSING
    quantization: QuantizationConfig = MISSING
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    chat: ChatOptions = field(default_factory=ChatOptions)
    adapter: Optional[str] = None
    bf16: Optional[bool] = None
    task_name: str = "chat"


@dataclass
class MergeOptions:
    """How ``sftlab merge`` merges, checks and writes."""

    dtype: Optional[str] = None  # null: model.dtype
    max_shard_size: str = "2GB"
    probe_prompts: list[str] = field(default_factory=list)
    tolerance: Optional[float] = None  # null: by dtype (see conf/merge.yaml)
    memory_gb: Optional[float] = None  # null: the RAM available now
    overwrite: bool = False


@dataclass
class MergeRunConfig:
    """Root of ``conf/merge.yaml``."""

    model: ModelConfig = MISSING
    quantization: QuantizationConfig = MISSING
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    merge: MergeOptions = field(default_factory=MergeOptions)
    adapter: Optional[str] = None
    out: Optional[str] = None
    task_name: str = "merge"


@dataclass
class HubOptions:
    """Where ``sftlab export`` pushes."""

    repo_id: Optional[str] = None  # user/name; null: write the card and print the summary only
    private: bool = True
    token_env: str = "HF_TOKEN"
    revision: Optional[str] = None  # a branch; null: main
    commit_message: Optional[str] = None


@dataclass
class ExportRunConfig:
    """Root of ``conf/export.yaml``."""

    model: ModelConfig = MISSING
    quantization: QuantizationConfig = MISSING
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    hub: HubOptions = field(default_factory=HubOptions)
    adapter: Optional[str] = None
    task_name: str = "export"


SCHEMAS = {
    "chat_schema": ChatRunConfig,
    "merge_schema": MergeRunConfig,
    "export_schema": ExportRunConfig,
}
