"""Judges that grade answers with the rubric: an OpenAI-compatible server or a local model.

Every judge returns, per answer row, ``score`` (1-5 or None), ``reason`` and ``judge_error``.
A reply that does not parse is asked again up to ``judge.parse_retries`` times and then recorded
as missing with the reason; a timeout or an HTTP error that survives the client's retries is an
error of that item only. People grade through :mod:`sftlab.judge.human_scores`.

The chat backends (the ``openai`` client with timeouts, retries and back-off; a local
transformers model) are :mod:`sftlab.generate.llm_client`, shared with the dataset builder's generator.
The API key is read from the environment variable *named* by ``judge.api_key_env`` and handed
to the client only; it is never logged, tagged or written (error texts are scrubbed of it).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from sftlab.config.errors import ConfigError
from sftlab.generate.llm_client import ChatRequestError, HFLocalClient, OpenAICompatibleClient
from sftlab.judge.rubric import ReplyError, judge_messages, parse_rubric_reply

log = logging.getLogger(__name__)

JUDGE_KINDS = ("none", "openai_compatible", "hf_local", "human")


def _verdict(score=None, reason="", error="", asks=0, seconds=0.0) -> dict:
    return {
        "score": score,
        "reason": reason,
        "judge_error": error,
        "judge_asks": asks,
        "judge_seconds": round(seconds, 3),
    }


class OpenAICompatibleJudge:
    """A chat-completions server (the shared :class:`~sftlab.generate.llm_client.OpenAICompatibleClient`)."""

    def __init__(self, judge_cfg):
        """Build the client; a missing URL/model or an unset key variable is a one-line ConfigError."""
        self.cfg = judge_cfg
        if not judge_cfg.base_url:
            raise ConfigError("judge.base_url is empty; set the server's URL, e.g. http://127.0.0.1:8000/v1")
        if not judge_cfg.model:
            raise ConfigError("judge.model is empty; set the model name the server serves")
        self.client = OpenAICompatibleClient.from_config(
            "judge", judge_cfg, max_retries=judge_cfg.max_retries
        )

    def _item_error(self, err: ChatRequestError) -> str:
        """How a request that failed after the client's retries reads in the item's ``judge_error``."""
        retries = self.cfg.max_retries
        if err.kind == "timeout":
            return f"timeout: no reply within {self.cfg.timeout_s:g}s (after {retries} retries)"
        if err.kind in ("auth", "status"):
            return f"HTTP {err.status_code} (after {retries} retries): {err.detail}"
        if err.kind == "connection":
            return f"connection error: {err.detail}"
        return f"unreadable response: {err.detail}"

    def grade(self, rubric_cfg, row: dict) -> dict:
        """Grade one answer row (bounded re-asks on bad replies; transport errors end the item)."""
        started = time.perf_counter()
        messages = judge_messages(rubric_cfg, row)
        last = ""
        asks = 0
        for _ in range(1 + self.cfg.parse_retries):
            asks += 1
            try:
                text = self.client.complete(messages)
            except ChatRequestError as e:
                return _verdict(error=self._item_error(e), asks=asks, seconds=time.perf_counter() - started)
            try:
                score, reason = parse_rubric_reply(rubric_cfg, text)
            except ReplyError as e:
                last = self.client.scrub(str(e))
                continue
            # The reply is the server's text: scrub it like an error (it may echo the key).
            return _verdict(
                score, self.client.scrub(reason), asks=asks, seconds=time.perf_counter() - started
            )
        err = f"unparseable reply after {asks} asks: {last}"
        return _verdict(error=err, asks=asks, seconds=time.perf_counter() - started)

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()


def judge_bnb_config(judge_cfg):
    """NF4 with double quantization for ``judge.load_in_4bit``, computing in ``judge.dtype``."""
    from transformers import BitsAndBytesConfig

    from sftlab.model.precision import torch_dtype

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch_dtype(judge_cfg.dtype),
    )


class HFLocalJudge:
    """A local transformers model as judge: greedy first, sampled re-asks after a bad reply."""

    def __init__(self, judge_cfg, model=None, tokenizer=None):
        """Load ``judge.model`` (hub id or folder) unless a model/tokenizer pair is given."""
        from sftlab.generate.prompt_formats import check_format

        self.cfg = judge_cfg
        if judge_cfg.prompt_format:
            check_format(judge_cfg.prompt_format)
        dtype = quantization_config = None
        if model is None:
            from sftlab.model.precision import torch_dtype

            if not judge_cfg.model:
                raise ConfigError(
                    "judge.model is empty; set a hub id or a local folder for the hf_local judge"
                )
            dtype = torch_dtype(judge_cfg.dtype)
            if judge_cfg.get("load_in_4bit", False):
                quantization_config = judge_bnb_config(judge_cfg)
        self.client = HFLocalClient(
            "judge",
            model=judge_cfg.model,
            temperature=judge_cfg.temperature,
            max_tokens=judge_cfg.max_tokens,
            dtype=dtype,
            quantization_config=quantization_config,
            lm=model,
            tokenizer=tokenizer,
        )
        if not judge_cfg.prompt_format and not self.client.has_chat_template:
            raise ConfigError(
                f"judge.prompt_format: the tokenizer of '{judge_cfg.model}' has no chat template; "
                "set judge.prompt_format (e.g. llama2_chat)"
            )

    def _prompt(self, messages: list[dict]) -> str:
        if self.cfg.prompt_format:
            from sftlab.generate.prompt_formats import to_chat_prompt

            system = next((m["content"] for m in messages if m["role"] == "system"), None)
            return to_chat_prompt(
                [],
                messages[-1]["content"],
                self.cfg.prompt_format,
                system,
                tokenizer=self.client.tokenizer,
            )
        return self.client.render(messages)

    def grade(self, rubric_cfg, row: dict) -> dict:
        """Grade one answer row with up to ``1 + parse_retries`` generations."""
        started = time.perf_counter()
        prompt = self._prompt(judge_messages(rubric_cfg, row))
        last = ""
        for ask in range(1 + self.cfg.parse_retries):
            text = self.client.generate(prompt, sample=ask > 0 and self.cfg.temperature > 0)
            try:
                score, reason = parse_rubric_reply(rubric_cfg, text)
            except ReplyError as e:
                last = self.client.scrub(str(e))
                continue
            return _verdict(
                score, self.client.scrub(reason), asks=ask + 1, seconds=time.perf_counter() - started
            )
        err = f"unparseable reply after {1 + self.cfg.parse_retries} asks: {last}"
        return _verdict(error=err, asks=1 + self.cfg.parse_retries, seconds=time.perf_counter() - started)

    def close(self) -> None:
        """Nothing to release explicitly."""


def check_judge(judge_cfg) -> None:
    """Value checks of the ``judge`` group, each naming its key."""
    if judge_cfg.kind not in JUDGE_KINDS:
        raise ConfigError(f"judge.kind: '{judge_cfg.kind}' is not one of {', '.join(JUDGE_KINDS)}")
    if judge_cfg.concurrency < 1:
        raise ConfigError(f"judge.concurrency must be >= 1 (got {judge_cfg.concurrency})")
    if judge_cfg.timeout_s <= 0:
        raise ConfigError(f"judge.timeout_s must be > 0 (got {judge_cfg.timeout_s})")
    if judge_cfg.max_retries < 0 or judge_cfg.parse_retries < 0:
        raise ConfigError("judge.max_retries and judge.parse_retries must be >= 0")
    if judge_cfg.export_format not in ("csv", "jsonl"):
        raise ConfigError(f"judge.export_format: '{judge_cfg.export_format}' is not one of csv, jsonl")
    if not judge_cfg.suites:
        raise ConfigError("judge.suites is empty; list suite names (general_es, law_ec) or .jsonl files")
    stray = sorted(set(judge_cfg.get("people_only_suites") or []) - set(judge_cfg.suites))
    if stray:
        raise ConfigError(
            f"judge.people_only_suites: {', '.join(stray)} not in judge.suites; list only suites that are judged"
        )
    if judge_cfg.max_items_per_category is not None and judge_cfg.max_items_per_category < 1:
        raise ConfigError(
            f"judge.max_items_per_category must be >= 1 or null (got {judge_cfg.max_items_per_category})"
        )


def build_judge(judge_cfg):
    """The grading judge of ``judge.kind``, or None for ``none`` and ``human`` (people grade later)."""
    check_judge(judge_cfg)
    if judge_cfg.kind == "openai_compatible":
        return OpenAICompatibleJudge(judge_cfg)
    if judge_cfg.kind == "hf_local":
        return HFLocalJudge(judge_cfg)
    return None


def grade_rows(judge, rubric_cfg, rows: list[dict], concurrency: int = 1) -> list[dict]:
    """Verdicts for ``rows`` (same order), ``concurrency`` requests at a time.

    Identical answers to the same question (attempts of a deterministic method) are graded
    once and the verdict shared, so a judge is never paid twice for the same text.
    """
    from tqdm.auto import tqdm

    def key(row):
        return (row["suite"], row["item"], row["conversation"], row["answer"])

    unique: dict[tuple, dict] = {}
    for row in rows:
        unique.setdefault(key(row), row)
    workers = concurrency if isinstance(judge, OpenAICompatibleJudge) else 1
    with tqdm(total=len(unique), desc="judge", unit="answer") as bar:

        def one(row):
            try:
                return judge.grade(rubric_cfg, row)
            finally:
                bar.update()

        with ThreadPoolExecutor(max_workers=workers) as pool:
            verdicts = dict(zip(unique, pool.map(one, unique.values()), strict=False))
    return [dict(verdicts[key(row)]) for row in rows]
