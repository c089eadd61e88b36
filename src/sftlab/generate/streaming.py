"""Streaming: new tokens to text on the screen as they come, ending exactly on the final answer.

Every decoding method hands its tokens to a callback one at a time (our contrastive search
directly, transformers' methods through :class:`TokenCallbackStreamer`). :class:`TextStream`
turns them into text: it re-decodes the answer so far and writes only the part that can no
longer change, holding back trailing whitespace and an unfinished multi-byte character (the
byte-level tokenizers split ``é`` into two tokens). What it has written when the answer ends is
exactly the answer text the judge and the tests see (:func:`sftlab.generate.methods._decode`).
"""

from __future__ import annotations

from collections.abc import Callable

_REPLACEMENT = "\ufffd"  # what decoding shows for an incomplete UTF-8 sequence


class TokenCallbackStreamer:
    """A transformers streamer (``put``/``end``) that calls ``on_token`` for each new token.

    ``generate`` puts the prompt first; that call is skipped. Batch size 1 only.
    """

    def __init__(self, on_token: Callable[[int], None]):
        """Wrap the per-token callback."""
        self._on_token = on_token
        self._prompt_seen = False

    def put(self, value) -> None:
        """Tokens from ``generate``: the prompt (ignored), then the new tokens step by step."""
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        for token in value.reshape(-1).tolist():
            self._on_token(int(token))

    def end(self) -> None:
        """Nothing to flush: :class:`TextStream` finishes on the final answer."""


class TextStream:
    """Write an answer's text to ``write`` while its tokens arrive; :meth:`finish` completes it."""

    def __init__(self, tokenizer, eos_ids: list[int], write: Callable[[str], object]):
        """Stream for one answer; tokens after the first EOS are ignored."""
        self._tokenizer, self._eos, self._write = tokenizer, set(eos_ids), write
        self._ids: list[int] = []
        self._stopped = False
        self.shown = ""

    def _emit(self, text: str) -> None:
        if text.startswith(self.shown) and len(text) > len(self.shown):
            self._write(text[len(self.shown) :])
            self.shown = text

    def add(self, token: int) -> None:
        """One new token; writes whatever text it makes final."""
        if self._stopped:
            return
        if token in self._eos:
            self._stopped = True
            return
        self._ids.append(token)
        text = self._tokenizer.decode(self._ids, skip_special_tokens=True).lstrip()
        self._emit(text.rstrip().rstrip(_REPLACEMENT).rstrip())

    def finish(self, answer: str) -> None:
        """Write what is left of the final ``answer`` (the stripped text of the answer's tokens)."""
        if answer.startswith(self.shown):
            self._emit(answer)
        else:  # decoding rewrote text already shown (never seen in practice): show the answer whole
            self._write("\n" + answer)
            self.shown = answer
