"""Rows of dicts as markdown and CSV text, for summaries and reports logged as artifacts."""

from __future__ import annotations

import csv
import io


def rows_to_markdown(rows: list[dict], columns: list[str]) -> str:
    """A GitHub-style markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [str(row.get(c, "")).replace("|", "\\|").replace("\n", " ") for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def rows_to_csv(rows: list[dict], columns: list[str]) -> str:
    """CSV text with a header row."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
