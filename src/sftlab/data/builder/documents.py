"""Read documents into page texts: PDF (pypdf), plain text, Markdown and HTML."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from sftlab.config.errors import DataError

log = logging.getLogger(__name__)

_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre"}


@dataclass
class Document:
    """One file's text, page by page (``page`` is None for formats without pages)."""

    path: Path
    relative: str
    pages: list[tuple[int | None, str]]


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
            pages = [(i + 1, page.extract_text() or "") for i, page in enumerate(reader.pages)]
        elif suffix in (".html", ".htm"):
            pages = [(None, html_text(_read_text(path)))]
        else:
            pages = [(None, _read_text(path))]
    except Exception as e:  # pypdf raises many types for broken or encrypted files
        raise DataError(f"{path}: cannot be read ({type(e).__name__}: {str(e)[:200]})") from None
    return Document(path, rel, pages)


def find_documents(input_dir: str, extensions: list[str]) -> list[Path]:
    """Files under ``input_dir`` with one of ``extensions``, sorted (a stable chunk order)."""
    root = Path(input_dir).expanduser()
    if not root.is_dir():
        raise DataError(f"input_dir: folder not found: {root}")
    exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in exts)
    if not files:
        raise DataError(f"input_dir: no {', '.join(sorted(exts))} files under {root}")
    return files
