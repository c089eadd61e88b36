"""The rubric as versioned config: the judge's messages for an answer, and strict reply parsing.

Two kinds of rubric (``rubric.reply_format``):

* ``json`` (sftlab_es_v1): the judge must reply with exactly one JSON object
  ``{"score": <integer 1-5>, "reason": "<text>"}`` (a single surrounding code fence is
  tolerated, nothing else). Anything else — prose, a float, a string "4", a 6, an empty reason —
  is a :class:`ReplyError`, never a guessed number.
* ``number`` (study_2023, the study's own prompt): the reply is read as the study asked for it,
  a number 1-5 anywhere in a short reply ("4", "Grade: 4", "I would give it a 4 out of 5").
  No number, two different numbers, a number outside 1-5, a fraction or an over-long reply is a
  :class:`ReplyError` (re-asked, then recorded missing).
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
    blob = {k: str(rubric_cfg[k]) for k in fields}
    for extra in ("slots", "reply_format", "max_reply_chars"):  # only when set: old hashes stay valid
        if rubric_cfg.get(extra) not in (None, "format", "json"):
            blob[extra] = str(rubric_cfg[extra])
    blob = json.dumps(blob, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _bracket_messages(rubric_cfg, row: dict) -> list[dict]:
    """The study's way: ``[instruction]`` and ``[answer]`` filled in, one user message, nothing else."""
    template = rubric_cfg.prompt_template
    if "[instruction]" not in template or "[answer]" not in template:
        raise ConfigError(
            "judge.rubric.prompt_template: slots=brackets needs both [instruction] and [answer] in the template"
        )
    # one pass over the template, so an answer that itself contains "[answer]" is left alone
    user = re.sub(
        r"\[(instruction|answer)\]",
        lambda m: row["question"] if m.group(1) == "instruction" else (row["answer"] or ""),
        template,
    )
    messages = [{"role": "user", "content": user}]
    if (rubric_cfg.system_prompt or "").strip():
        messages.insert(0, {"role": "system", "content": rubric_cfg.system_prompt.strip()})
    return messages


def judge_messages(rubric_cfg, row: dict) -> list[dict]:
    """Chat messages asking a judge to grade ``row`` (question, answer, conversation, reference)."""
    if rubric_cfg.get("slots", "format") == "brackets":
        return _bracket_messages(rubric_cfg, row)
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


# "out of 5", "/5", "de 5", "sobre 5": a mention of the scale, not a second grade
_SCALE = re.compile(r"(?:/\s*5|\b(?:out of|de|sobre)\s+5)\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\d.,])\d+(?:[.,]\d+)?(?![\d])")


def parse_number_reply(text: str | None, max_chars: int = 200) -> tuple[int, str]:
    """``(score, reply)`` from a reply to the study's prompt: exactly one number, an integer 1-5."""
    if text is None or not text.strip():
        raise ReplyError("empty reply")
    body = text.strip()
    if len(body) > max_chars:
        raise ReplyError(f"reply longer than {max_chars} characters: {body[:80]!r}")
    numbers = {n.replace(",", ".") for n in _NUMBER.findall(_SCALE.sub(" ", body))}
    if not numbers:
        raise ReplyError(f"no number in the reply: {body[:80]!r}")
    if len(numbers) > 1:
        raise ReplyError(f"more than one number in the reply: {body[:80]!r}")
    (number,) = numbers
    if not number.isdigit() or not SCORE_MIN <= int(number) <= SCORE_MAX:
        raise ReplyError(f"{number} is not an integer {SCORE_MIN}-{SCORE_MAX}")
    return int(number), body


def parse_rubric_reply(rubric_cfg, text: str | None) -> tuple[int, str]:
    """Parse ``text`` the way ``rubric_cfg.reply_format`` says (json or number)."""
    if rubric_cfg.get("reply_format", "json") == "number":
        return parse_number_reply(text, int(rubric_cfg.get("max_reply_chars", 200)))
    return parse_reply(text)
