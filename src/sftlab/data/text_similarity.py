"""Text similarity for short Spanish texts: the leak check and the builder's question dedup.

* :func:`normalize_text`: case, accents, punctuation and whitespace ignored (exact matches).
* :func:`key_terms`: what makes two near-identical questions different questions: numbers
  (digits and number words), named taxes and institutions (``IVA`` and "impuesto al valor
  agregado" are one name), other acronyms, capitalized names inside a sentence and quoted terms.
  "…declaración mensual del IVA?" vs "…del ICE?" or "artículo 9" vs "artículo 10" differ here,
  however similar the rest is.
* :class:`NearDupIndex`: an incremental index of character n-gram sets (Jaccard similarity),
  for the builder, which compares each new question with the ones kept so far.
* :class:`TfidfSpace`: TF-IDF vectors (scikit-learn) of Snowball-stemmed word 1-2-grams, articles
  and short prepositions left out, for the leak check. TF-IDF weighs a rare word (RIMPE,
  herencia) far above a common one (qué, es), so changing an article or a verb form costs a light
  paraphrase little while a different topic word costs it much; stemming (``snowballstemmer``,
  the Snowball project's own Spanish stemmer) makes "exportación"/"exportaciones" and
  "adultas"/"adultos" the same word. MinHash (datasketch) was the alternative: it estimates the
  *unweighted* Jaccard similarity, so "una" → "la" costs as much as "IVA" → "ICE", and its point,
  sub-linear search over billions of documents, is not needed for a few hundred questions against
  ~10^5 records, which one sparse matrix product scores exactly.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_COMBINING = re.compile(r"[\u0300-\u036f]")  # accents once NFKD has split them off the letters
NGRAM = 4  # short enough that one changed word leaves most n-grams intact

# Spelled-out numbers and ordinals ("noveno dígito", "cuatro versos"); "un"/"una" are articles.
NUMBER_WORDS = frozenset(
    (
        "dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciseis "
        "diecisiete dieciocho diecinueve veinte treinta cuarenta cincuenta sesenta setenta ochenta "
        "noventa cien ciento cientos mil millon millones primero primer primera segundo segunda "
        "tercero tercer tercera cuarto cuarta quinto quinta sexto sexta septimo septima octavo "
        "octava noveno novena decimo decima"
    ).split()
)
# Named taxes and institutions: every spelling maps to one name, so "IVA" in one question and
# "impuesto al valor agregado" in its paraphrase are the same term.
NAMED = {
    "iva": ("iva", "impuesto al valor agregado"),
    "ice": ("ice", "impuesto a los consumos especiales"),
    "isd": ("isd", "impuesto a la salida de divisas"),
    "impuesto a la renta": ("impuesto a la renta", "impuesto sobre la renta"),
    "impuesto a la herencia": ("impuesto a la herencia", "impuesto a las herencias"),
    "impuesto predial": ("impuesto predial",),
    "impuesto vehicular": ("impuesto a los vehiculos", "impuesto vehicular"),
    "sri": ("sri", "servicio de rentas internas"),
    "rimpe": ("rimpe",),
    "rise": ("rise",),
}
_NAMED_RE = {
    name: re.compile(r"\b(?:" + "|".join(re.escape(s) for s in spellings) + r")\b")
    for name, spellings in NAMED.items()
}
_NAMED_WORDS = frozenset(w for spellings in NAMED.values() for s in spellings for w in s.split())
_NUMBER = re.compile(r"\d+(?:[.,:/]\d+)*")
_ACRONYM = re.compile(r"\b[A-ZÁÉÍÓÚÑ]{2,}\b")
_QUOTED = re.compile(r"[\"«“'‘]([^\"»”'’]{1,80})[\"»”'’]")
# A capitalized word after a lower-case word or a comma: a name (Ecuador, Código Tributario),
# not a sentence start.
_NAME = re.compile(r"(?<=[a-záéíóúñü,])\s+([A-ZÁÉÍÓÚÑ][a-záéíóúñü]+)")

# Left out of the TF-IDF terms: articles and short prepositions, what light paraphrases change.
STOP_WORDS = frozenset("el la los las lo un una unos unas de del al a en y e o u por para con su sus".split())


def normalize_text(text: str) -> str:
    """Lower-case, strip accents and punctuation, collapse whitespace."""
    text = _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))
    return " ".join(_NON_WORD.sub(" ", text).split())


def key_terms(text: str) -> frozenset[str]:
    """Numbers, named taxes/institutions, acronyms, names and quoted words of ``text`` (normalized)."""
    norm = normalize_text(text)
    terms = {name for name, pattern in _NAMED_RE.items() if pattern.search(norm)}
    terms.update(w for w in norm.split() if w in NUMBER_WORDS)
    for m in _NUMBER.finditer(text):
        terms.update(normalize_text(m.group(0)).split())
    letters = [ch for ch in text if ch.isalpha()]
    if sum(ch.isupper() for ch in letters) < 0.5 * max(1, len(letters)):  # not a text in capitals
        for m in _ACRONYM.finditer(text):
            terms.add(normalize_text(m.group(0)))
    for m in _QUOTED.finditer(text):
        terms.update(normalize_text(m.group(1)).split())
    for m in _NAME.finditer(text):
        word = normalize_text(m.group(1))
        if word not in _NAMED_WORDS:  # "Impuesto a la Salida de Divisas" is the name isd
            terms.add(word)
    return frozenset(terms)


def keeps_key_terms(question: str, text: str) -> bool:
    """True when every key term of ``question`` is in ``text`` (a leak keeps its question's specifics)."""
    wanted = key_terms(question)
    if not wanted:
        return True
    return wanted <= (set(normalize_text(text).split()) | key_terms(text))


def same_key_terms(a: str, b: str) -> bool:
    """True when neither text has a key term the other lacks: a paraphrase, not another question
    ("…del IVA?" / "…del ICE?"; a question in capitals, whose names cannot be told apart from its
    other words, against "…Urano…")."""
    return keeps_key_terms(a, b) and keeps_key_terms(b, a)


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


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("spanish")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def word_ngrams(text: str) -> list[str]:
    """The TF-IDF terms of ``text``: stemmed words (no articles/short prepositions) and their pairs."""
    words = [_stem(w) for w in normalize_text(text).split() if w not in STOP_WORDS]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def _as_is(terms: list[str]) -> list[str]:
    return terms


class TfidfSpace:
    """TF-IDF vectors of :func:`word_ngrams` term lists, document frequencies learnt by :meth:`fit`.

    Terms are hashed (scikit-learn's ``HashingVectorizer``), so a corpus of 10^5 long records
    needs no vocabulary in memory. A caller hashes each text once (:meth:`counts`) and reuses the
    counts for the document frequencies, the 0/1 term sets (:meth:`presence`) and the
    L2-normalized TF-IDF rows (:meth:`weigh`, whose dot products are cosines).
    """

    N_FEATURES = 2**22  # collisions among ~10^6 distinct terms stay rare

    def __init__(self):
        """An empty space; :meth:`fit` it on the corpus' counts before :meth:`weigh`."""
        from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

        self._hash = HashingVectorizer(
            analyzer=word_ngrams, n_features=self.N_FEATURES, alternate_sign=False, norm=None
        )
        self._tfidf = TfidfTransformer(sublinear_tf=True)

    def counts(self, texts: list[str]):
        """Sparse term counts of ``texts`` (one row each)."""
        return self._hash.transform(texts)

    def fit(self, *counts) -> TfidfSpace:
        """Learn document frequencies from count matrices (empty rows are not documents)."""
        import scipy.sparse as sp

        stacked = sp.vstack(counts).tocsr()
        self._tfidf.fit(stacked[stacked.getnnz(axis=1) > 0])
        return self

    def weigh(self, counts):
        """L2-normalized TF-IDF rows of a count matrix."""
        return self._tfidf.transform(counts)

    @staticmethod
    def presence(counts):
        """Sparse 0/1 rows: which terms occur in each text."""
        m = counts.copy()
        m.data[:] = 1
        return m
