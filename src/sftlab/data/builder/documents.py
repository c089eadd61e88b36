"""Read documents into page texts: PDF (pypdf), plain text, Markdown and HTML.

PDF text is cleaned before chunking: running headers and footers (lines that repeat at the top
or bottom of most pages once their numbers are ignored, and bare page numbers) are removed, and
words hyphenated at a line or page end ("impues-" / "to") are joined again. Pages without a text
layer (scanned images) are counted, so the build can say which files need OCR.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from sftlab.config.errors import DataError

log = logging.getLogger(__name__)

_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre"}


_PAGE_NUMBER = re.compile(
    r"^[-–—\s]*(?:p[áa]g(?:ina)?\.?\s*)?\d+(?:\s*(?:/|de|of)\s*\d+)?[-–—\s]*$", re.IGNORECASE
)
_HYPHEN_END = re.compile(r"(\w)[-\u00ad][ \t]*\n[ \t]*(?=[a-záéíóúñü])")  # "impues-\nto" -> "impuesto"
_ZONE = 3  # lines at the top and at the bottom of a page where running headers/footers sit


@dataclass
class Document:
    """One file's text, page by page (``page`` is None for formats without pages).

    ``empty_pages``: PDF pages without a text layer (a scanned page yields no text).
    """

    path: Path
    relative: str
    pages: list[tuple[int | None, str]]
    empty_pages: int = 0


def _line_key(line: str) -> str:
    """A line with its numbers masked: "Página 2" and "Página 3" are the same running footer."""
    return " ".join(re.sub(r"\d+", "#", line).casefold().split())


def _zones(lines: list[str]) -> set[int]:
    """Indices of the first and last ``_ZONE`` non-empty lines."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    return set(filled[:_ZONE] + filled[-_ZONE:])


def strip_running_lines(pages: list[str]) -> list[str]:
    """Pages without their running headers/footers and bare page numbers.

    A line counts as running when, numbers masked, it sits in the top or bottom lines of at
    least half of the pages (and of two pages at least); a line that is only a page number
    ("3", "- 3 -", "Página 3 de 9") is dropped wherever it is in those lines.
    """
    split = [page.splitlines() for page in pages]
    with_text = [lines for lines in split if any(line.strip() for line in lines)]
    seen: Counter = Counter()
    for lines in with_text:
        seen.update({_line_key(lines[i]) for i in _zones(lines)})
    need = max(2, math.ceil(len(with_text) / 2))
    running = {key for key, n in seen.items() if n >= need and key}
    out = []
    for lines in split:
        zone = _zones(lines)
        kept = [
            line
            for i, line in enumerate(lines)
            if i not in zone or (_line_key(line) not in running and not _PAGE_NUMBER.match(line))
        ]
        out.append("\n".join(kept).strip("\n"))
    return out


def join_hyphenated(pages: list[str]) -> list[str]:
    """Rejoin words split by a hyphen at a line end, also across a page break (the fragment
    moves to the page where the word starts)."""
    pages = [_HYPHEN_END.sub(r"\1", page) for page in pages]
    for i in range(len(pages) - 1):
        head = pages[i].rstrip()
        m = re.search(r"(\w)[-\u00ad]$", head)
        nxt = pages[i + 1].lstrip()
        if m and nxt[:1].islower():
            word = re.match(r"\S+", nxt).group(0)
            pages[i] = head[:-1] + word
            pages[i + 1] = nxt[len(word) :].lstrip(" \t")
    return pages


def clean_pdf_pages(pages: list[str]) -> list[str]:
    """:func:`strip_running_lines`, then :func:`join_hyphenated` (a footer would sit between the halves)."""
    return join_hyphenated(strip_running_lines(pages))


class _TextExtractor(HTMLParser):
    """Visible text of an HTML page, with block elements on their own lines."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "title"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n" if tag == "p" else "\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    """The visible text of ``html``."""
    parser = _TextExtractor()
    parser.feed(html)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # older government files are often Windows-1252/Latin-1


def read_document(path: Path, root: Path) -> Document:
    """Read one file; raises DataError naming it when it cannot be read."""
    rel = str(path.relative_to(root))
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            from pypdf import PdfReader

            reader = PdfReader(str(path))
            raw = [page.extract_text() or "" for page in reader.pages]
            empty = sum(1 for text in raw if not text.strip())
            return Document(path, rel, list(enumerate(clean_pdf_pages(raw), 1)), empty)
        elif suffix in (".html", ".htm"):
            pages = [(None, html_text(_read_text(path)))]
        else:
            pages = [(None, _read_text(path))]
    except Exception as e:  # pypdf raises many types for broken or encrypted files
        raise DataError(f"{path}: cannot be read ({type(e).__name__}: {str(e)[:200]})") from None
    return Document(path, rel, pages)


def _inside(root: Path, files: list[Path]) -> list[Path]:
    """``files`` whose real path lies inside ``root``; links that lead out are skipped, and said so.

    The documents' text goes to the generator (possibly a remote server): a link to
    ``~/.ssh/id_rsa`` or ``/etc/passwd`` dropped into the folder must not travel with it.
    """
    real_root = root.resolve()
    kept, outside = [], []
    for path in files:
        (kept if path.resolve().is_relative_to(real_root) else outside).append(path)
    if outside:
        shown = ", ".join(str(p.relative_to(root)) for p in outside[:3]) + (
            " ..." if len(outside) > 3 else ""
        )
        message = (
            f"input_dir: skipped {len(outside)} link(s) that lead outside {root} ({shown}); "
            "copy a file into the folder to use it"
        )
        log.warning(message)
        print(message, flush=True)
    return kept


def find_documents(input_dir: str, extensions: list[str]) -> list[Path]:
    """Files under ``input_dir`` with one of ``extensions``, sorted (a stable chunk order)."""
    root = Path(input_dir).expanduser()
    if not root.is_dir():
        raise DataError(f"input_dir: folder not found: {root}")
    exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts)
    files = _inside(root, files)
    if not files:
        raise DataError(f"input_dir: no {', '.join(sorted(exts))} files under {root}")
    return files
