"""Typed schema of the ``judge`` config group (judges, prompt suites, the versioned rubric).

Kept apart from :mod:`sftlab.config.schema` so the judging feature owns its settings; ``schema.py``
mounts :class:`JudgeConfig` at ``judge`` of the run config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING


@dataclass
class RubricConfig:
    """The rubric and the judge prompt: versioned together and logged with every score."""

    version: str = MISSING
    text: str = MISSING
    system_prompt: str = MISSING
    # str.format template; fields: {rubric} {question} {answer} {conversation_block} {reference_block}
    prompt_template: str = MISSING
    conversation_header: str = "Conversación previa:"
    reference_header: str = "Respuesta de referencia:"
    # format: str.format fields above | brackets: the study's [instruction]/[answer], nothing else sent
    slots: str = "format"
    reply_format: str = "json"  # json: {"score", "reason"} | number: one integer 1-5 in a short reply
    max_reply_chars: int = 200  # reply_format=number: longer replies are re-asked


@dataclass
class JudgeConfig:
    """Who grades the generated answers, on which prompt suites, and how."""

    kind: str = "none"  # none | openai_compatible | hf_local | human
    name: str = "none"  # label of this judge in tables and tags
    suites: list[str] = field(default_factory=lambda: ["general_es", "law_ec"])  # names or files
    max_items_per_category: int | None = None  # null: every prompt of the suite
    # suites graded by people only (the study's law suite): generated and exported, never sent to the judge
    people_only_suites: list[str] = field(default_factory=list)
    stage_enabled: bool = True  # run as a post-training stage of train.py when kind != none
    # openai_compatible
    base_url: str | None = None
    model: str | None = None  # server model name (openai_compatible) or folder/hub id (hf_local)
    api_key_env: str | None = None  # NAME of the environment variable holding the key
    concurrency: int = 4
    timeout_s: float = 60.0
    max_retries: int = 3  # HTTP-level retries (429, 5xx, timeouts) with exponential back-off
    parse_retries: int = 2  # extra asks after an unparseable or out-of-range reply
    temperature: float = 0.0
    max_tokens: int = 256
    # hf_local
    prompt_format: str | None = None  # null: the tokenizer's chat template
    dtype: str = "bfloat16"
    load_in_4bit: bool = False  # NF4 judge: ~4.5 GB instead of ~15 GB for a 7B (slightly noisier grades)
    # human
    export_format: str = "csv"  # csv | jsonl
    rubric: RubricConfig = field(default_factory=RubricConfig)
