"""Exact and near-duplicate detection for short texts (questions, instructions).

Two texts are *exact* duplicates when their normalized forms are equal (case, accents,
punctuation and whitespace ignored) and *near* duplicates when the Jaccard similarity of
their character n-gram sets reaches a threshold. :class:`NearDupIndex` keeps an inverted
index from n-gram to text, so a query only scores texts that share n-grams with it (tens of
thousands of training records against a few hundred questions stay fast).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
NGRAM = 4  # short enough that one changed word leaves most n-grams intact


def normalize_text(text: str) -> str:
    """Lower-case, strip accents and punctuation, collapse whitespace."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", text).split())


def shingles(text: str, n: int = NGRAM) -> frozenset[str]:
    """Character n-grams of the normalized text (the whole text if shorter than ``n``)."""
    norm = normalize_text(text)
    if len(norm) <= n:
        return frozenset([norm]) if norm else frozenset()
    return frozenset(norm[i : i + n] for i in range(len(norm) - n + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b| (0 for two empty sets)."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


class NearDupIndex:
    """An incremental index of texts answering "is this an exact or near duplicate?"."""

    def __init__(self, threshold: float):
        """``threshold``: the Jaccard similarity from which two texts count as near-duplicates."""
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"near-duplicate threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self._exact: dict[str, list[int]] = {}
        self._sets: list[frozenset[str]] = []
        self._postings: dict[str, list[int]] = {}

    def __len__(self) -> int:
        """Number of texts added."""
        return len(self._sets)

    def add(self, text: str) -> int:
        """Index ``text``; returns its id (the order of addition)."""
        idx = len(self._sets)
        self._exact.setdefault(normalize_text(text), []).append(idx)
        grams = shingles(text)
        self._sets.append(grams)
        for g in grams:
            self._postings.setdefault(g, []).append(idx)
        return idx

    def matches(self, text: str) -> list[tuple[str, int, float]]:
        """Every indexed text equal (``"exact"``) or similar (``"near"``) to ``text``, most similar first."""
        norm = normalize_text(text)
        exact = set(self._exact.get(norm, ()))
        found = [("exact", i, 1.0) for i in sorted(exact)]
        grams = shingles(text)
        if grams:
            shared = Counter(i for g in grams for i in self._postings.get(g, ()))
            near = []
            for idx, inter in shared.items():
                if idx in exact:
                    continue
                sim = inter / (len(grams) + len(self._sets[idx]) - inter)
                if sim >= self.threshold:
                    near.append(("near", idx, sim))
            found += sorted(near, key=lambda m: (-m[2], m[1]))
        return found

    def match(self, text: str) -> tuple[str, int, float] | None:
        """The best of :meth:`matches` (an exact one first), or None."""
        found = self.matches(text)
        return found[0] if found else None
