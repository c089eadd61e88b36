"""``sftlab chat``: talk to a trained adapter (or a bare base model), answers streamed as they come.

The conversation is formatted by :func:`sftlab.generate.prompt_formats.to_chat_prompt`, the
function that wrote the training prompts, and answered by :func:`sftlab.generate.methods.generate_ids`,
the code the judge stage generates with (contrastive search by default), seeded like the first
attempt of a prompt suite. So a one-shot answer here is the answer ``generate`` gives.

Three ways in: interactive on a terminal (``/reset`` clears the conversation, ``/exit`` or
Ctrl-D quits, Ctrl-C stops an answer), ``chat.prompt="..."`` for one answer, and lines on
standard input when it is not a terminal (one user turn per line, ``/reset`` and ``/exit``
work there too). Outside the interactive mode, standard output holds the answers only, one per
line; logs go to standard error. Each turn is appended to ``transcript.jsonl`` in the run folder.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig

log = logging.getLogger(__name__)

COMMANDS_HELP = "/reset clears the conversation, /exit quits (Ctrl-D too), Ctrl-C stops an answer"


@dataclass
class ChatSession:
    """A conversation with one model: the history so far, formatted in the model's prompt format."""

    model: object
    tokenizer: object
    gen: DictConfig
    model_cfg: DictConfig
    history: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self):
        """Check the decoding settings once and seed like attempt 1 of ``generate_answers``."""
        from sftlab.generate.methods import check_generation, eos_token_ids, hf_generation_config

        check_generation(self.gen)
        self.eos_ids = eos_token_ids(self.model, self.tokenizer)
        self._hf_config = (
            None
            if self.gen.method == "contrastive"
            else hf_generation_config(self.gen, self.tokenizer, self.eos_ids)
        )
        self.reset()

    def reset(self) -> None:
        """Forget the conversation and reseed (a new conversation starts like the first one)."""
        import torch

        self.history.clear()
        torch.manual_seed(self.gen.seed)

    def prompt(self, user: str) -> str:
        """The exact text the model reads for ``user``'s next turn."""
        from sftlab.generate.prompt_formats import to_chat_prompt

        tok = self.tokenizer
        return to_chat_prompt(
            self.history,
            user,
            self.model_cfg.prompt_format,
            self.model_cfg.system_prompt,
            tok.bos_token,
            tok.eos_token,
            tokenizer=tok,
        )

    def reply(self, user: str, write=None) -> dict:
        """Answer ``user`` (streaming the text to ``write`` if given) and add the turn to the history.

        Returns the turn: ``user``, ``answer``, the ``prompt`` text, ``new_tokens``, ``seconds``.
        """
        from sftlab.generate.methods import _decode, generate_ids
        from sftlab.generate.streaming import TextStream

        text = self.prompt(user)
        input_ids = self.tokenizer(text, return_tensors="pt").input_ids.to(self.model.device)
        stream = TextStream(self.tokenizer, self.eos_ids, write) if write else None
        started = time.perf_counter()
        was_training = self.model.training  # a model fresh from training: no dropout while answering
        self.model.eval()
        try:
            ids = generate_ids(
                self.model,
                input_ids,
                self.gen,
                self.eos_ids,
                self.tokenizer,
                self._hf_config,
                on_token=stream.add if stream else None,
            )
        finally:
            self.model.train(was_training)
        answer = _decode(self.tokenizer, ids, self.eos_ids)
        if stream:
            stream.finish(answer)
        self.history.append((user, answer))
        return {
            "user": user,
            "answer": answer,
            "prompt": text,
            "new_tokens": len(ids),
            "seconds": round(time.perf_counter() - started, 3),
        }


def converse(session: ChatSession, lines, out, interactive: bool, transcript: Path | None = None) -> int:
    """Answer each line from ``lines`` (an iterator of user inputs); returns the number of answers.

    ``/reset`` and ``/exit`` are commands; empty lines are skipped. ``out`` gets the streamed
    answers, each ending with a newline (plus the prompts and notices when ``interactive``).
    """
    answered = 0
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if line == "/exit":
            break
        if line == "/reset":
            session.reset()
            if interactive:
                out.write("(conversation cleared)\n")
            continue
        if line.startswith("/"):
            out.write(f"unknown command {line}; {COMMANDS_HELP}\n")
            continue
        try:
            turn = session.reply(line, write=out.write)
        except KeyboardInterrupt:
            if not interactive:
                raise
            out.write("\n(stopped; this answer is not kept)\n")
            continue
        finally:
            out.flush()
        out.write("\n")
        out.flush()
        answered += 1
        if transcript is not None:
            with transcript.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"turn": answered, **turn}, ensure_ascii=False) + "\n")
    return answered


def _terminal_lines(out):
    """User inputs typed at a terminal, until Ctrl-D (or Ctrl-C at the prompt)."""
    while True:
        try:
            out.flush()
            yield input("\n>>> ")
        except (EOFError, KeyboardInterrupt):
            out.write("\n")
            return


def main(cfg: DictConfig) -> int:
    """``sftlab chat``: load the adapter (or base) once, then answer the prompt, stdin or the terminal."""
    from sftlab.generate.methods import check_generation
    from sftlab.generate.prompt_formats import check_format
    from sftlab.model.pretrained import load_for_inference
    from sftlab.track.adapter_source import with_adapter

    output_dir = Path(cfg.paths.output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    cfg, source = with_adapter(cfg, "chat")
    check_format(cfg.model.prompt_format)
    check_generation(cfg.generation)  # before the weights load
    adapter = source.path if source else None
    log.info(
        "Loading %s (quantization=%s)%s",
        cfg.model.name,
        cfg.quantization.name,
        f" + {adapter}" if adapter else "",
    )
    model, tokenizer = load_for_inference(cfg.model, cfg.quantization, adapter, cfg.bf16)
    session = ChatSession(model, tokenizer, cfg.generation, cfg.model)
    transcript = output_dir / "transcript.jsonl"
    out = sys.stdout
    if cfg.chat.prompt is not None:
        return converse(session, [cfg.chat.prompt], out, interactive=False, transcript=transcript)
    if not sys.stdin.isatty():
        return converse(session, sys.stdin, out, interactive=False, transcript=transcript)
    subject = f"{cfg.model.name} + {adapter}" if adapter else f"{cfg.model.name} (no adapter)"
    out.write(
        f"chatting with {subject}; generation={cfg.generation.method}, format={cfg.model.prompt_format}\n"
    )
    out.write(f"{COMMANDS_HELP}\n")
    n = converse(session, _terminal_lines(out), out, interactive=True, transcript=transcript)
    log.info("%d answer(s); transcript in %s", n, transcript)
    return n
