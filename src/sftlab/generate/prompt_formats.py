"""Instruction formats of the supported model families.

A record (instruction, input, output) becomes a prompt/completion pair: the prompt in the
model's own instruction format, the completion the answer. TRL then masks the prompt so the
loss is on the completion only, and appends the tokenizer's EOS to the completion.
"""

from __future__ import annotations

from collections.abc import Callable

from sftlab.config.errors import ConfigError


def _user_turn(instruction: str, input_text: str) -> str:
    """The user's message: the instruction, followed by its input when there is one."""
    instruction, input_text = instruction.strip(), (input_text or "").strip()
    return f"{instruction}\n\n{input_text}" if input_text else instruction


def _llama2_chat(user: str, system: str | None) -> str:
    """LLaMA-2-chat: ``[INST] <<SYS>>..<</SYS>> user [/INST]`` (BOS comes from the tokenizer)."""
    if system:
        return f"[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST]"
    return f"[INST] {user} [/INST]"


def _mistral_instruct(user: str, system: str | None) -> str:
    """Mistral: ``[INST] user [/INST]``; it has no system turn, so a system text is prepended."""
    text = f"{system}\n\n{user}" if system else user
    return f"[INST] {text} [/INST]"


def _falcon_chat(user: str, system: str | None) -> str:
    """Falcon: plain ``User:`` / ``Assistant:`` turns, the convention of its instruct models."""
    head = f"{system}\n" if system else ""
    return f"{head}User: {user}\nAssistant:"


def _plain(user: str, system: str | None) -> str:
    """No template: the text as it is (e.g. benchmark prompts such as Belebele's ``...Answer:``)."""
    return f"{system}\n\n{user}" if system else user


FORMATS: dict[str, Callable[[str, str | None], str]] = {
    "llama2_chat": _llama2_chat,
    "mistral_instruct": _mistral_instruct,
    "falcon_chat": _falcon_chat,
    "plain": _plain,
}


def check_format(name: str) -> None:
    """Raise a ConfigError naming ``model.prompt_format`` if ``name`` is not a known format."""
    if name not in FORMATS:
        raise ConfigError(f"model.prompt_format: unknown format '{name}'; choose one of {', '.join(FORMATS)}")


def to_prompt_completion(record: dict, fmt: str, system: str | None = None) -> dict:
    """Turn a normalized record into ``{"prompt", "completion"}`` in format ``fmt``."""
    check_format(fmt)
    prompt = FORMATS[fmt](_user_turn(record["instruction"], record.get("input", "")), system)
    return {"prompt": prompt, "completion": " " + record["output"].strip()}


# How a finished exchange is closed before the next user turn, per format (the families' own
# multi-turn conventions; ``{eos}``/``{bos}`` are the tokenizer's special-token strings).
_TURN_CLOSERS: dict[str, str] = {
    "llama2_chat": " {answer} {eos}{bos}",
    "mistral_instruct": " {answer}{eos}",
    "falcon_chat": " {answer}\n",
}


def to_chat_prompt(
    history: list[tuple[str, str]],
    user: str,
    fmt: str,
    system: str | None = None,
    bos: str | None = None,
    eos: str | None = None,
) -> str:
    """The prompt for ``user``'s turn after the finished ``(user, answer)`` exchanges in ``history``.

    With an empty history this is exactly the single-turn prompt used in training. The system
    text goes only into the first turn, as the model families do. The very first BOS is left to
    the tokenizer, as in training.
    """
    check_format(fmt)
    turns = [*[u for u, _ in history], user]
    text = FORMATS[fmt](turns[0].strip(), system)
    for (_, answer), next_user in zip(history, turns[1:], strict=False):
        text += _TURN_CLOSERS[fmt].format(answer=answer.strip(), eos=eos or "", bos=bos or "")
        text += FORMATS[fmt](next_user.strip(), None)
    return text
