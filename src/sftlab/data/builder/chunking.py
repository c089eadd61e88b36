"""Split a document into chunks on article boundaries (``Art. 1.-``), else on paragraphs.

Ecuadorian laws number their articles ``Art. 1.-``, ``Art. 56.1.-``, ``Artículo 7.-``,
``Artículo 5. Objeto.`` (no dash), ``Art. (...).-`` or ``Art. innumerado.-`` (unnumbered articles
inserted by reforms). A heading starts a line; a line that only *cites* an article is not one:
"Art. 41 - literal b)" (``literal``/``numeral``/``inciso``, or a lower-case word unless the
number ends in ``.-``),
or a line continuing a sentence that the previous line left open ("... lo dispuesto en el" /
"Art. 41 ..."). Each article starts a segment; consecutive short articles are packed into one
chunk up to ``max_chars`` (so a reform's many one-line articles do not cost one request each),
and an article longer than ``max_chars`` is split at paragraph, then line, boundaries. A text
without article headings is split on paragraphs the same way. Every chunk keeps its file, page
range (PDF) and article range.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass

ARTICLE_RE = re.compile(
    r"^[ \t>#*_]*Art(?:[íi]culo)?\.?[ \t]*"
    r"(\d+(?:\.\d+)*(?:[ \t]*(?:bis|ter|qu[áa]ter|quinquies))?|\(\.\.\.\)|innumerado(?:[ \t]+\d+)?)"
    r"([ \t]*\.?[ \t]*[-–—]+|\.(?=[ \t]+\S))",  # "1.-", "1 -", or "5." followed by the title
    re.MULTILINE | re.IGNORECASE,
)
# After a heading: a capital (a title or the text), a digit, a quote or a reform note "(Reformado".
# A citation goes on with a lower-case word or one of these.
_CITATION_WORDS = ("literal", "lit", "numeral", "num", "inciso", "de", "del")
# A line ending in one of these leaves a sentence open: the next line continues it.
_OPEN_ENDINGS = frozenset(
    "el la los las al del de en y o e u a con por para segun según conforme dispuesto previsto "
    "establecido señalado senalado indicado determinado mencionado referido".split()
)


def text_hash(text: str) -> str:
    """SHA-256 (24 hex) of ``text`` whitespace-normalized: a chunk's resume and dedup key."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:24]


def is_heading(text: str, m: re.Match) -> bool:
    """Whether an :data:`ARTICLE_RE` match starts an article rather than citing one."""
    rest = text[m.end() :].lstrip(" \t")
    first = re.match(r"[^\s.,;:]*", rest).group(0)
    strong = "." in m.group(2) and m.group(2).strip(" \t.") != ""  # "1.-": only headings look so
    if first.casefold() in _CITATION_WORDS or (rest[:1].islower() and not strong):
        return False
    before = text[: m.start()].rstrip(" \t")
    if before.endswith("\n\n") or not before.strip():
        return True  # after a blank line, or at the very start
    last_line = before.rsplit("\n", 1)[-1].strip()
    last_word = last_line.rsplit(" ", 1)[-1].casefold() if last_line else ""
    return last_word not in _OPEN_ENDINGS


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
        return text_hash(self.text)


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

    heads = [m for m in ARTICLE_RE.finditer(text) if is_heading(text, m)]
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
