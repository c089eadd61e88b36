"""Instruction formats of the supported model families, and the tokenizer's own chat template.

One function, :func:`to_chat_prompt`, writes every prompt the project shows a model: training
(:func:`to_prompt_completion` is its empty-history case), generation for the judge, the judge's
own local model, and ``sftlab chat``. So a question asked in chat is byte for byte the text the
adapter was trained on.

A record (instruction, input, output) becomes a prompt/completion pair: the prompt in the
model's own instruction format, the completion the answer. TRL then masks the prompt so the
loss is on the completion only, and appends the tokenizer's EOS to the completion unless it
already ends with it.

``chat_template`` formats with the tokenizer's own template (``apply_chat_template``), for
instruct models whose template is the source of truth. The template's leading BOS text is
dropped when the tokenizer adds BOS itself, exactly as the hand-written formats leave the first
BOS to the tokenizer, so a prompt never starts with two BOS tokens.
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


CHAT_TEMPLATE = "chat_template"  # the tokenizer's own template (needs the tokenizer)


def check_format(name: str) -> None:
    """Raise a ConfigError naming ``model.prompt_format`` if ``name`` is not a known format."""
    if name not in FORMATS and name != CHAT_TEMPLATE:
        raise ConfigError(
            f"model.prompt_format: unknown format '{name}'; choose one of {', '.join([*FORMATS, CHAT_TEMPLATE])}"
        )


def needs_tokenizer(fmt: str) -> bool:
    """Whether format ``fmt`` is rendered by the tokenizer (its chat template)."""
    return fmt == CHAT_TEMPLATE


def _messages(history: list[tuple[str, str]], user: str | None, system: str | None) -> list[dict]:
    messages = [{"role": "system", "content": system}] if system else []
    for u, a in history:
        messages += [{"role": "user", "content": u.strip()}, {"role": "assistant", "content": a.strip()}]
    if user is not None:
        messages.append({"role": "user", "content": user.strip()})
    return messages


def _apply_template(tokenizer, messages: list[dict], generation_prompt: bool) -> str:
    """The template's text of ``messages`` (a template error is a ConfigError naming the keys)."""
    if tokenizer is None:
        raise ValueError("model.prompt_format=chat_template needs the tokenizer")
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError(
            f"model.prompt_format=chat_template: the tokenizer of '{tokenizer.name_or_path}' has no chat "
            f"template; choose one of {', '.join(FORMATS)}"
        )
    try:
        return tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=generation_prompt
        )
    except Exception as e:  # jinja2's TemplateError, e.g. a template without a system role
        raise ConfigError(
            f"model.prompt_format=chat_template: the template of '{tokenizer.name_or_path}' refused the "
            f"conversation ({str(e)[:160]}); check model.system_prompt"
        ) from None


def _drop_template_bos(text: str, tokenizer) -> str:
    """``text`` without a leading BOS string when the tokenizer adds BOS itself (no double BOS)."""
    bos = tokenizer.bos_token
    if bos and text.startswith(bos):
        ids = tokenizer("a")["input_ids"]
        if ids and ids[0] == tokenizer.bos_token_id:
            return text[len(bos) :]
    return text


def to_prompt_completion(record: dict, fmt: str, system: str | None = None, tokenizer=None) -> dict:
    """Turn a normalized record into ``{"prompt", "completion"}`` in format ``fmt``.

    The prompt is :func:`to_chat_prompt` with an empty history. Under ``chat_template`` the
    completion is what the template writes after the prompt for the answer (its end-of-turn
    text included), so TRL trains on the template's own turn ending.
    """
    check_format(fmt)
    user = _user_turn(record["instruction"], record.get("input", ""))
    prompt = to_chat_prompt([], user, fmt, system, tokenizer=tokenizer)
    answer = record["output"].strip()
    if not needs_tokenizer(fmt):
        return {"prompt": prompt, "completion": " " + answer}
    asked = _apply_template(tokenizer, _messages([], user, system), generation_prompt=True)
    full = _apply_template(
        tokenizer, [*_messages([], user, system), {"role": "assistant", "content": answer}], False
    )
    # A template that renders the prompt alone differently (rare) gets the answer appended plainly.
    completion = full[len(asked) :] if full.startswith(asked) else " " + answer
    return {"prompt": prompt, "completion": completion}


# How a finished exchange is closed before the next user turn, per format (the families' own
# multi-turn conventions; ``{eos}``/``{bos}`` are the tokenizer's special-token strings).
_TURN_CLOSERS: dict[str, str] = {
    "llama2_chat": " {answer} {eos}{bos}",
    "mistral_instruct": " {answer}{eos}",
    "falcon_chat": " {answer}\n",
    "plain": " {answer}\n\n",
}


def to_chat_prompt(
    history: list[tuple[str, str]],
    user: str,
    fmt: str,
    system: str | None = None,
    bos: str | None = None,
    eos: str | None = None,
    tokenizer=None,
) -> str:
    """The prompt for ``user``'s turn after the finished ``(user, answer)`` exchanges in ``history``.

    With an empty history this is exactly the single-turn prompt used in training. The system
    text goes only into the first turn, as the model families do. The very first BOS is left to
    the tokenizer, as in training. ``bos``/``eos`` (the special-token strings that close a turn)
    default to the ``tokenizer``'s; ``chat_template`` needs the tokenizer.
    """
    check_format(fmt)
    if needs_tokenizer(fmt):
        text = _apply_template(tokenizer, _messages(history, user, system), generation_prompt=True)
        return _drop_template_bos(text, tokenizer)
    if tokenizer is not None:
        bos = tokenizer.bos_token if bos is None else bos
        eos = tokenizer.eos_token if eos is None else eos
    turns = [*[u for u, _ in history], user]
    text = FORMATS[fmt](turns[0].strip(), system)
    for (_, answer), next_user in zip(history, turns[1:], strict=False):
        text += _TURN_CLOSERS[fmt].format(answer=answer.strip(), eos=eos or "", bos=bos or "")
        text += FORMATS[fmt](next_user.strip(), None)
    return text
