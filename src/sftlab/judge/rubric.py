"""The rubric as versioned config: the judge's messages for an answer, and strict reply parsing.

A judge must reply with exactly one JSON object ``{"score": <integer 1-5>, "reason": "<text>"}``
(a single surrounding code fence is tolerated, nothing else). Anything else — prose, a float,
a string "4", a 6, an empty reason — is a :class:`ReplyError`, never a guessed number.
"""

from __future__ import annotations

import hashlib
import json
import re

from sftlab.config.errors import ConfigError

SCORE_MIN, SCORE_MAX = 1, 5
_FENCE = re.compile(r"^```(?:json)?\s*\n?(.*?)\n?```$", re.DOTALL)


class ReplyError(ValueError):
    """A judge reply that is not a valid score + reason."""


def rubric_fingerprint(rubric_cfg) -> str:
    """Short hash of the whole rubric section (text + prompts), logged with every score."""
    fields = (
        "version",
        "text",
        "system_prompt",
        "prompt_template",
        "conversation_header",
        "reference_header",
    )
    blob = json.dumps({k: str(rubric_cfg[k]) for k in fields}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def judge_messages(rubric_cfg, row: dict) -> list[dict]:
    """Chat messages asking a judge to grade ``row`` (question, answer, conversation, reference)."""
    conversation = row.get("conversation") or ""
    reference = row.get("reference") or ""
    try:
        user = rubric_cfg.prompt_template.format(
            rubric=rubric_cfg.text.strip(),
            question=row["question"],
            answer=row["answer"] or "(respuesta vacía)",
            conversation_block=f"\n{rubric_cfg.conversation_header}\n{conversation}\n"
            if conversation
            else "",
            reference_block=f"\n{rubric_cfg.reference_header}\n{reference}\n" if reference else "",
        )
    except (KeyError, IndexError, ValueError) as e:
        raise ConfigError(
            f"judge.rubric.prompt_template: cannot be filled ({type(e).__name__}: {e}); use only "
            "{rubric} {question} {answer} {conversation_block} {reference_block} and double other braces"
        ) from None
    return [
        {"role": "system", "content": rubric_cfg.system_prompt.strip()},
        {"role": "user", "content": user.strip()},
    ]


def parse_reply(text: str | None) -> tuple[int, str]:
    """``(score, reason)`` from a judge reply, or :class:`ReplyError` saying what is wrong."""
    if text is None or not text.strip():
        raise ReplyError("empty reply")
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        obj = json.loads(body)
    except json.JSONDecodeError:
        raise ReplyError(f"not a JSON object: {text.strip()[:80]!r}") from None
    if not isinstance(obj, dict) or set(obj) != {"score", "reason"}:
        raise ReplyError(f"expected exactly the keys score and reason: {text.strip()[:80]!r}")
    score, reason = obj["score"], obj["reason"]
    if isinstance(score, bool) or not isinstance(score, int):
        raise ReplyError(f"score is not an integer: {score!r}")
    if not SCORE_MIN <= score <= SCORE_MAX:
        raise ReplyError(f"score {score} is outside {SCORE_MIN}-{SCORE_MAX}")
    if not isinstance(reason, str) or not reason.strip():
        raise ReplyError("reason is missing or empty")
    return score, reason.strip()
