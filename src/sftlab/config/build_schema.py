"""Typed schema of ``conf/data_build.yaml`` (``sftlab data build``)."""
# ruff: noqa: UP045  (OmegaConf structured configs: keep typing.Optional, as in sftlab/schema.py)

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from omegaconf import MISSING


@dataclass
class ChunkingConfig:
    """How documents become chunks (one request each)."""

    max_chars: int = 3000
    min_chars: int = 80


@dataclass
class PromptConfig:
    """Which versioned prompt asks for the pairs, and how many per chunk."""

    version: str = "sri_qa_v1"
    pairs_per_chunk: int = 3


@dataclass
class GeneratorConfig:
    """The generator LLM (see ``sftlab.data.builder.generator`` and ``sftlab.generate.llm_client``)."""

    backend: str = "openai_compatible"  # openai_compatible | hf_local | fake
    model: str = MISSING
    base_url: Optional[str] = None  # null: api.openai.com
    api_key_env: Optional[str] = "OPENAI_API_KEY"  # the NAME of the variable, never the key
    temperature: float = 0.7
    max_tokens: int = 2048
    timeout_s: float = 120.0
    request_retries: int = 2
    device: str = "auto"  # hf_local only
    replies: Optional[str] = None  # fake only: a recorded-replies JSONL to replay
    record_replies: Optional[str] = None  # any backend: append every reply to this JSONL


@dataclass
class BuildConfig:
    """The root of ``conf/data_build.yaml``."""

    input_dir: str = MISSING
    output: str = MISSING
    extensions: list[str] = field(default_factory=lambda: [".pdf", ".txt", ".md", ".html", ".htm"])
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    reply_attempts: int = 3
    near_dup_threshold: float = 0.85
    max_chunks: Optional[int] = None
    near_dup_answer_threshold: float = 0.5
