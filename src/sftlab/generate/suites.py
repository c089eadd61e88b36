"""Prompt suites: JSONL files of prompts (single or multi-turn) in categories, with references.

A suite is named by its file (``general_es`` -> ``assets/prompts/general_es.jsonl``); a user can
give the path of their own file in the same format (see ``assets/prompts/README.md``). Every
problem in a file is a one-line DataError naming the file and line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sftlab.config.errors import DataError
from sftlab.config.paths import ASSETS_DIR

PROMPTS_DIR = ASSETS_DIR / "prompts"


@dataclass
class SuitePrompt:
    """One line of a suite: a single prompt (one turn) or a series of consecutive turns."""

    suite: str
    id: str
    category: str
    turns: list[str]
    references: list[str | None] = field(default_factory=list)

    @property
    def multi_turn(self) -> bool:
        """True for a series of turns answered as one conversation."""
        return len(self.turns) > 1


def suite_path(name_or_path: str) -> Path:
    """The file of a suite given by bundled name (``general_es``) or by path."""
    p = Path(name_or_path).expanduser()
    if p.suffix or "/" in name_or_path:
        if not p.is_file():
            raise DataError(f"judge.suites: prompt suite file not found: {p}")
        return p
    bundled = PROMPTS_DIR / f"{name_or_path}.jsonl"
    if not bundled.is_file():
        known = ", ".join(sorted(f.stem for f in PROMPTS_DIR.glob("*.jsonl")))
        raise DataError(
            f"judge.suites: unknown suite '{name_or_path}' (bundled: {known}; or give a .jsonl path)"
        )
    return bundled


def _parse_line(obj, where: str, suite: str) -> SuitePrompt:
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object")
    for key in ("id", "category"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            raise DataError(f"{where}: field '{key}' must be a non-empty string")
    if ("prompt" in obj) == ("turns" in obj):
        raise DataError(f"{where}: give exactly one of 'prompt' (a string) or 'turns' (a list of strings)")
    turns = [obj["prompt"]] if "prompt" in obj else obj["turns"]
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) and t.strip() for t in turns):
        raise DataError(f"{where}: 'prompt'/'turns' must be non-empty text")
    ref = obj.get("reference")
    if ref is None:
        refs = [None] * len(turns)
    elif isinstance(ref, str):
        refs = [None] * (len(turns) - 1) + [ref]  # a single reference grades the (last) turn
    else:
        refs = ref
    if (
        not isinstance(refs, list)
        or len(refs) != len(turns)
        or not all(r is None or isinstance(r, str) for r in refs)
    ):
        raise DataError(f"{where}: 'reference' must be a string (or, for 'turns', a list of the same length)")
    return SuitePrompt(suite, obj["id"].strip(), obj["category"].strip(), [t.strip() for t in turns], refs)


def load_suite(name_or_path: str, max_per_category: int | None = None) -> list[SuitePrompt]:
    """The prompts of a suite, in file order; at most ``max_per_category`` per category."""
    path = suite_path(name_or_path)
    suite = path.stem
    prompts: list[SuitePrompt] = []
    seen: set[str] = set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{where}: not valid JSON ({e.msg})") from None
        prompt = _parse_line(obj, where, suite)
        if prompt.id in seen:
            raise DataError(f"{where}: duplicate id '{prompt.id}'")
        seen.add(prompt.id)
        prompts.append(prompt)
    if not prompts:
        raise DataError(f"{path}: the prompt suite is empty")
    if max_per_category is not None:
        counts: dict[str, int] = {}
        kept = []
        for p in prompts:
            counts[p.category] = counts.get(p.category, 0) + 1
            if counts[p.category] <= max_per_category:
                kept.append(p)
        prompts = kept
    return prompts


def categories(prompts: list[SuitePrompt]) -> list[str]:
    """Categories in order of first appearance (the column order of the score tables)."""
    return list(dict.fromkeys(p.category for p in prompts))
