"""Offline generators: try the whole builder without a key or a server, replay recorded replies.

* :class:`FakeClient` (``generator=fake``) answers every request at once, offline and
  deterministically. Without a replies file it writes placeholder pairs from the chunk itself:
  for each of the first sentences, "¿Qué establece <article> sobre «first words…»?" answered
  with that sentence. The pairs are there to try chunking, resume, dedup, review and training
  end to end; they are no training data (``generator_model`` says ``fake``).
  With ``generator.replies=<file.jsonl>`` it replays recorded replies instead: one JSON object
  per line, ``{"chunk_hash": ..., "reply": "<the generator's text>"}``; several lines for one
  chunk are its successive attempts (the last repeats). A chunk with no recorded reply ends the
  build with an error naming it.
* :class:`RecordingClient` (``generator.record_replies=<file.jsonl>``, any backend) appends
  every reply to such a file, so a build with a real generator can be replayed offline.

Both find the chunk in the request by :func:`sftlab.data.builder.prompts.chunk_text`.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

from sftlab.config.errors import DataError
from sftlab.data.builder.chunking import ARTICLE_RE, is_heading, text_hash
from sftlab.data.builder.prompts import chunk_text
from sftlab.generate.llm_client import ChatRequestError

_SENTENCE_END = re.compile(r"(?<=[.;:])\s+(?=[A-ZÁÉÍÓÚÑ¿¡])")
_TITLE = re.compile(r"^[^.]{1,80}\.-\s*")


def _sentences(text: str) -> list[tuple[str, str]]:
    """(where, sentence) of each sentence of ``text``, article by article, titles left out."""
    heads = [m for m in ARTICLE_RE.finditer(text) if is_heading(text, m)]
    bounds = [(m.start(), m.end(), " ".join(m.group(1).split())) for m in heads] or [(0, 0, None)]
    found = []
    for i, (_, body_start, number) in enumerate(bounds):
        stop = bounds[i + 1][0] if i + 1 < len(bounds) else len(text)
        body = " ".join(text[body_start:stop].split())
        body = _TITLE.sub("", body)  # "Objeto del impuesto.- " before the article's text
        where = f"el artículo {number}" if number else "el texto"
        found += [(where, s.strip(" -–—")) for s in _SENTENCE_END.split(body) if len(s.strip(" -–—")) >= 30]
    return found or [("el texto", " ".join(text.split()))]


def synthetic_reply(text: str, n: int) -> str:
    """A valid reply of ``n`` placeholder pairs about ``text`` (JSON, as the prompt asks)."""
    sentences = _sentences(text)
    pairs = []
    for i in range(n):
        where, sentence = sentences[i % len(sentences)]
        words = " ".join(sentence.split()[:8])
        again = f" (parte {i // len(sentences) + 1})" if i >= len(sentences) else ""
        pairs.append(
            {
                "instruction": f"¿Qué establece {where} sobre «{words}…»{again}?",
                "input": "",
                "output": sentence,
            }
        )
    return json.dumps(pairs, ensure_ascii=False)


def read_replies(path: str) -> dict[str, list[str]]:
    """A replies file: chunk hash -> replies in order, with errors naming the file and line."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"generator.replies: file not found: {p}")
    replies: dict[str, list[str]] = defaultdict(list)
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{p}:{n}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("chunk_hash"), str) or "reply" not in row:
            raise DataError(f'{p}:{n}: expected {{"chunk_hash": "...", "reply": "..."}}')
        replies[row["chunk_hash"]].append(str(row["reply"]))
    return dict(replies)


class FakeClient:
    """A chat client that never leaves the machine (see the module doc)."""

    section = "generator"

    def __init__(self, pairs_per_chunk: int = 3, replies: str | None = None):
        """``replies``: a recorded-replies file to replay; None writes placeholder pairs."""
        self.pairs_per_chunk = pairs_per_chunk
        self.replies = read_replies(replies) if replies else None
        self.requests: Counter = Counter()  # per chunk hash

    def complete(self, messages: list[dict]) -> str:
        """The reply to a builder request."""
        text = chunk_text(messages)
        if text is None:
            raise ChatRequestError(
                "generator: the fake generator got a request without a chunk", "response", ""
            )
        key = text_hash(text)
        self.requests[key] += 1
        if self.replies is None:
            return synthetic_reply(text, self.pairs_per_chunk)
        recorded = self.replies.get(key)
        if not recorded:
            raise ChatRequestError(
                f"generator.replies: no recorded reply for chunk {key} ({' '.join(text.split())[:60]!r}); "
                "record one with generator.record_replies=<file>, or drop generator.replies for placeholders",
                "response",
                key,
            )
        return recorded[min(self.requests[key], len(recorded)) - 1]

    def scrub(self, text: str) -> str:
        """Nothing secret here."""
        return text

    def close(self) -> None:
        """Nothing to release."""


class RecordingClient:
    """Wraps a chat client and appends each builder reply to a replies file (keys scrubbed)."""

    def __init__(self, client, path: str):
        """Record ``client``'s replies into ``path`` (appended; created if needed)."""
        self.client, self.path = client, Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def complete(self, messages: list[dict]) -> str:
        """The wrapped client's reply, recorded under its chunk's hash."""
        reply = self.client.complete(messages)
        text = chunk_text(messages)
        if text is not None:
            row = {"chunk_hash": text_hash(text), "reply": self.client.scrub(reply)}
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return reply

    def scrub(self, text: str) -> str:
        """The wrapped client's scrubbing."""
        return self.client.scrub(text)

    def close(self) -> None:
        """Close the wrapped client."""
        close = getattr(self.client, "close", None)
        if close:
            close()
