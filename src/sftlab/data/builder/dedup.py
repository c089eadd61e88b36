"""Which generated pairs repeat one already kept: question *and* answer, never across key terms.

A new pair is a duplicate of a kept one when

* their questions are equal (case, accents, punctuation ignored) or near-equal (character
  4-gram Jaccard >= ``question_threshold``),
* their answers are near-equal too (Jaccard >= ``answer_threshold``): the same question
  answered from two articles with different content is two pairs, not one, and
* their questions have the same key terms (numbers, named taxes, acronyms, names; see
  :func:`sftlab.data.text_similarity.key_terms`): "…declaración mensual del IVA?" and "…del
  ICE?", or "artículo 9" and "artículo 10", are never merged however similar the rest is.

Character n-grams suit this comparison: both texts come from the same generator and prompt, so
a repeat is a near-copy, and an incremental index needs no corpus statistics.
"""

from __future__ import annotations

from sftlab.data.text_similarity import NearDupIndex, jaccard, normalize_text, same_key_terms, shingles


class PairDedup:
    """The kept pairs so far, and the test a new pair must pass to join them."""

    def __init__(self, question_threshold: float, answer_threshold: float):
        """Thresholds of the question and the answer similarity (character 4-gram Jaccard)."""
        if not 0.0 < answer_threshold <= 1.0:
            raise ValueError(f"answer threshold must be in (0, 1], got {answer_threshold}")
        self._questions = NearDupIndex(question_threshold)
        self.answer_threshold = answer_threshold
        self._pairs: list[tuple[str, str, frozenset[str]]] = []

    def __len__(self) -> int:
        """Number of kept pairs."""
        return len(self._pairs)

    def add(self, question: str, answer: str) -> None:
        """Keep a pair."""
        self._questions.add(question)
        self._pairs.append((question, answer, shingles(answer)))

    def duplicate_of(self, question: str, answer: str) -> str | None:
        """Why the pair repeats a kept one (the reason recorded in the rejected log), or None."""
        grams = shingles(answer)
        for kind, idx, q_sim in self._questions.matches(question):
            other_q, other_a, other_grams = self._pairs[idx]
            if not same_key_terms(question, other_q):
                continue
            a_sim = 1.0 if normalize_text(answer) == normalize_text(other_a) else jaccard(grams, other_grams)
            if a_sim < self.answer_threshold:
                continue
            what = "duplicate" if kind == "exact" else "near-duplicate"
            return f"{what} question (similarity {q_sim:.2f}, answer {a_sim:.2f}) of {other_q!r}"
        return None
