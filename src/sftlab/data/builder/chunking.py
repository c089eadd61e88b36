"""Split a document into chunks on article boundaries (``Art. 1.-``), else on paragraphs.

Ecuadorian laws number their articles ``Art. 1.-``, ``Art. 56.1.-``, ``Artículo 7.-`` or
``Art. (...).-`` (unnumbered articles inserted by reforms). Each article starts a segment;
consecutive short articles are packed into one chunk up to ``max_chars`` (so a reform's many
one-line articles do not cost one request each), and an article longer than ``max_chars`` is
split at paragraph, then line, boundaries. A text without article headings is split on
paragraphs the same way. Every chunk keeps its file, page range (PDF) and article range.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass

ARTICLE_RE = re.compile(
    r"^[ \t>#*_]*(?:Art(?:[íi]culo)?\.?)\s*(\d+(?:\.\d+)*(?:\s*(?:bis|ter|quater))?|\(\.\.\.\))\s*\.?\s*[-–—]",
    re.MULTILINE | re.IGNORECASE,
)


@dataclass
class Chunk:
    """A piece of a document sent to the generator in one request."""

    source_file: str
    text: str
    page: str | None  # "3" or "3-4"; None for formats without pages
    article: str | None  # "Art. 5" or "Art. 5-7"; None when the text has no article headings

    @property
    def chunk_hash(self) -> str:
        """SHA-256 of the text (whitespace-normalized): the resume and dedup key."""
        return hashlib.sha256(" ".join(self.text.split()).encode("utf-8")).hexdigest()[:24]


@dataclass
class _Segment:
    start: int
    end: int
    article: str | None


def _split_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut [start, end) into pieces <= max_chars at paragraph, line, then space boundaries."""
    pieces = []
    while end - start > max_chars:
        window = text[start : start + max_chars]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut <= max_chars // 4:
            cut = max_chars
        pieces.append((start, start + cut))
        start += cut
    pieces.append((start, end))
    return pieces


def _article_label(first: str | None, last: str | None) -> str | None:
    if first is None:
        return None
    return f"Art. {first}" if first == last or last is None else f"Art. {first}-{last}"


def _page_label(offsets: list[int], pages: list[int | None], start: int, end: int) -> str | None:
    if not pages or pages[0] is None:
        return None
    first = pages[bisect.bisect_right(offsets, start) - 1]
    last = pages[bisect.bisect_right(offsets, max(start, end - 1)) - 1]
    return str(first) if first == last else f"{first}-{last}"


def chunk_document(doc, max_chars: int, min_chars: int) -> list[Chunk]:
    """The chunks of a :class:`~sftlab.data.builder.documents.Document`."""
    texts, offsets, pages, pos = [], [], [], 0
    for page, page_text in doc.pages:
        offsets.append(pos)
        pages.append(page)
        texts.append(page_text)
        pos += len(page_text) + 1
    text = "\n".join(texts)

    heads = list(ARTICLE_RE.finditer(text))
    segments: list[_Segment] = []
    if heads:
        if text[: heads[0].start()].strip():
            segments.append(_Segment(0, heads[0].start(), None))  # title, preamble, considerandos
        for i, m in enumerate(heads):
            stop = heads[i + 1].start() if i + 1 < len(heads) else len(text)
            segments.append(_Segment(m.start(), stop, " ".join(m.group(1).split())))
    else:
        for m in re.finditer(r"\S(?:.*?)(?=\n\s*\n|\Z)", text, re.DOTALL):
            segments.append(_Segment(m.start(), m.end(), None))

    # Pack consecutive segments up to max_chars; split the ones that alone exceed it.
    chunks: list[Chunk] = []
    group: list[_Segment] = []

    def flush():
        if not group:
            return
        start, end = group[0].start, group[-1].end
        body = text[start:end].strip()
        if len(body) >= min_chars:
            arts = [s.article for s in group if s.article]
            chunks.append(
                Chunk(
                    doc.relative,
                    body,
                    _page_label(offsets, pages, start, end),
                    _article_label(arts[0], arts[-1]) if arts else None,
                )
            )
        group.clear()

    for seg in segments:
        if seg.end - seg.start > max_chars:
            flush()
            for a, b in _split_long(text, seg.start, seg.end, max_chars):
                group.append(_Segment(a, b, seg.article))
                flush()
            continue
        if group and seg.end - group[0].start > max_chars:
            flush()
        group.append(seg)
    flush()
    return chunks
