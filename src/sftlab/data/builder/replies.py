"""Parse and validate a generator reply into instruction/input/output pairs.

Accepted shapes: a JSON array of objects, ``{"pairs": [...]}`` (or any single list value), or a
single object; a Markdown code fence around the JSON is tolerated. Each object needs non-empty
string ``instruction`` and ``output``; ``input`` must be a string when present (the study left
it empty). A reply that fails any check is invalid as a whole, with the reason why.
"""

from __future__ import annotations

import json
import re

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL | re.IGNORECASE)


class InvalidReply(ValueError):
    """A reply that cannot be used; the message is the reason recorded for rejection."""


def parse_reply(text: str) -> list[dict]:
    """The pairs of ``text`` as ``{"instruction", "input", "output"}`` dicts; raises InvalidReply."""
    if not text or not text.strip():
        raise InvalidReply("empty reply")
    m = _FENCE.match(text)
    body = m.group(1) if m else text.strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as e:
        raise InvalidReply(f"not valid JSON ({e.msg} at char {e.pos}): {body[:80]!r}") from None
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if len(lists) == 1 and "instruction" not in data else [data]
    if not isinstance(data, list) or not data:
        raise InvalidReply("JSON holds no list of pairs")
    pairs = []
    for i, item in enumerate(data):
        if not isinstance(item, dict):
            raise InvalidReply(f"item {i} is not an object")
        missing = [
            k for k in ("instruction", "output") if not isinstance(item.get(k), str) or not item[k].strip()
        ]
        if missing:
            raise InvalidReply(f"item {i} lacks field(s) {missing}")
        if not isinstance(item.get("input", ""), str):
            raise InvalidReply(f"item {i}: 'input' is not a string")
        pairs.append(
            {
                "instruction": item["instruction"].strip(),
                "input": item.get("input", "").strip(),
                "output": item["output"].strip(),
            }
        )
    return pairs
