"""CSV cells a spreadsheet cannot run: formula injection neutralised on export, undone on import.

Model answers, questions and judge reasons are untrusted text. A cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is read by Excel, LibreOffice and Google Sheets
as a formula (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``). The OWASP remedy is a leading
apostrophe, which spreadsheets show as text. A cell that already starts with an apostrophe gets
one more, so :func:`restore` is the exact inverse of :func:`neutralise`.
"""

from __future__ import annotations

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"


def neutralise(value):
    """``value`` safe for a spreadsheet cell (non-strings unchanged)."""
    if isinstance(value, str) and value.startswith((*TRIGGERS, _QUOTE)):
        return _QUOTE + value
    return value


def restore(value):
    """The text :func:`neutralise` was given (a cell without the added apostrophe is unchanged)."""
    if isinstance(value, str) and len(value) > 1 and value[0] == _QUOTE and value[1] in (*TRIGGERS, _QUOTE):
        return value[1:]
    return value


def neutralise_row(row: dict) -> dict:
    """Every cell of a CSV row through :func:`neutralise`."""
    return {k: neutralise(v) for k, v in row.items()}


def restore_row(row: dict) -> dict:
    """Every cell of a CSV row read back through :func:`restore`."""
    return {k: restore(v) for k, v in row.items()}
