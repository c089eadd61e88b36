"""``eval.chat_template``: score the task in the model's chat format as well as plain (issue 11, part 4).

The adapters were trained on chat-formatted records, while lm-eval scores Belebele as plain text by
default; a drop measured plain may be a change of format rather than of knowledge. With
``eval.chat_template=true`` (or ``both``) the task is also scored with lm-eval's own
``apply_chat_template`` option (each question rendered through the tokenizer's chat template), and
logged under its own prefix, ``<prefix>_chat/`` (``belebele_chat/acc``, ``belebele_chat/base_acc``,
...), so the plain ``belebele/`` scores are never overwritten.
"""

from __future__ import annotations

from sftlab.config.errors import ConfigError

CHAT_SUFFIX = "_chat"  # belebele -> belebele_chat
MODES = {"false": (False,), "true": (True,), "both": (False, True)}


def mode(eval_cfg) -> str:
    """``false`` | ``true`` | ``both`` (YAML booleans and strings alike); ConfigError otherwise."""
    value = eval_cfg.get("chat_template", False)
    text = str(value).lower() if value is not None else "false"
    if text not in MODES:
        raise ConfigError(
            f"eval.chat_template: '{value}' is not false, true or both "
            "(false: plain prompts; true: the model's chat template; both: each under its own prefix)"
        )
    return text


def passes(eval_cfg) -> tuple[bool, ...]:
    """The passes to score, in order: ``False`` plain, ``True`` through the chat template."""
    return MODES[mode(eval_cfg)]


def pass_prefix(prefix: str, chat: bool) -> str:
    """The metric prefix of one pass: ``belebele`` plain, ``belebele_chat`` with the chat template."""
    return f"{prefix}{CHAT_SUFFIX}" if chat else prefix


def check_tokenizer(tokenizer, model_name: str) -> None:
    """A chat pass needs a chat template on the tokenizer; one line naming the fix otherwise."""
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(
            f"eval.chat_template: the tokenizer of model '{model_name}' has no chat template; "
            "set eval.chat_template=false"
        )
