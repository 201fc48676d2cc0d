"""The field-wise ranker of the re-rank window, and the fusion of the two rankers' orders,
the same for every backend.

The first ranker's order (:mod:`shop.search.scoring`) is fused (:func:`fuse`, reciprocal
rank fusion) with this field-wise ranker (:func:`dismax`): BM25 per field, only the best
field of each word counting, every word required, words reduced to their singular only.
It prefers products whose short fields (title, model, product type) carry the words over
products that mention them once in a long text, as the "dismax" queries of Lucene-based
engines do.
"""

from __future__ import annotations

import math
from functools import lru_cache

from shop.search.query import MAX_GROUPS, QueryPlan
from shop.search.scoring import FIELD_CACHE_SIZE, K1, B, Doc, text_tokens
from shop.search.tokens import fold, tokenize

#: Reciprocal rank fusion constant (Cormack, Clarke & Büttcher, "Reciprocal Rank Fusion
#: outperforms Condorcet and individual rank learning methods", SIGIR 2009: k = 60).
FUSION_K = 60
#: Fields of the field-wise ranker (names of :class:`shop.search.scoring.Doc` attributes).
DISMAX_FIELDS = ("title", "model", "kind", "body", "attributes")


#: Plural endings of words ending in a sibilant, which English writes with "es"
#: ("watches", "brushes", "boxes", "glasses").
_SIBILANT_PLURALS = ("ches", "shes", "xes", "sses")


def plural_stem(token: str) -> str:
    """A folded token reduced to its singular, as Lucene's ``EnglishMinimalStemmer`` does
    (after Harman's S-stemmer, "How effective is suffixing?", JASIS 42(1), 1991):
    "batteries" → "battery", "cables" → "cable"; "status", "class" and "shoes" stay. One
    rule more than Lucene's: a word ending in a sibilant takes "es" in the plural
    (:data:`_SIBILANT_PLURALS`), which goes: "watches" → "watch", "boxes" → "box",
    "glasses" → "glass". Lucene's rules left "watche", which no title's "watch" reduces
    to, so "gps watches" named no kind. The cost: the few such words whose singular ends
    in "e" ("caches" → "cach")."""
    n = len(token)
    if n < 3 or token[-1] != "s" or token[-2] in "us":
        return token
    if n > 4 and token.endswith(_SIBILANT_PLURALS):
        return token[:-2]
    if token[-2] == "e":
        if n > 3 and token[-3] == "i" and token[-4] not in "ae":
            return token[:-3] + "y"
        if token[-3] in "iaoe":
            return token
    return token[:-1]


@lru_cache(maxsize=65536)
def _singular(token: str) -> str:
    """:func:`plural_stem` of a token (cached: the catalog's words recur)."""
    return plural_stem(token)


class _Terms:
    """One field's singular words with their counts, and its length in tokens."""

    __slots__ = ("counts", "length")

    def __init__(self, text: str):
        tokens = text_tokens(text)
        # A plain dict: building a Counter costs an abstract-class check per field.
        counts: dict[str, int] = {}
        for token in tokens:
            key = _singular(token)
            counts[key] = counts.get(key, 0) + 1
        self.counts = counts
        self.length = len(tokens)


#: Fields whose singular words are kept, text -> :class:`_Terms` (about 1.5 kB each,
#: measured on the real catalog: some 24 MB when full; then it starts afresh). A plain
#: dict: :func:`_best_field` asks whether a field is kept before it builds one.
_TERMS: dict[str, _Terms] = {}


def _terms(text: str) -> _Terms:
    """The field's singular words (kept in ``_TERMS``)."""
    terms = _TERMS.get(text)
    if terms is None:
        if len(_TERMS) >= FIELD_CACHE_SIZE:
            _TERMS.clear()
        terms = _TERMS[text] = _Terms(text)
    return terms


@lru_cache(maxsize=FIELD_CACHE_SIZE)
def _folded(text: str) -> str:
    """:func:`shop.search.tokens.fold` of a field's text (cached as the fields are)."""
    return fold(text)


def dismax_texts(d: Doc) -> dict[str, str]:
    """The texts of the fields of :data:`DISMAX_FIELDS` of one product (the model as
    written, the description without tags)."""
    texts = {
        "title": d.title,
        "model": d.model,
        "kind": d.kind,
        "body": d.plain_body,
        "attributes": d.attributes,
    }
    return {name: texts[name] for name in DISMAX_FIELDS}


def query_words(plan: QueryPlan) -> list[str]:
    """The words of the query as read (:attr:`shop.search.query.QueryPlan.reading`: as
    typed, spelling corrected, a word typed as one that the catalog writes as two taken
    apart), each once, in typed order, at most ``MAX_GROUPS``. The field-wise ranker takes
    them without the joined, split and model-number alternatives of the plan (those the
    first ranker weighs): it is a second view of the query, and fusion gains from rankers
    that differ."""
    return list(dict.fromkeys(tokenize(plan.reading)))[:MAX_GROUPS]


def dismax(
    words: list[str],
    docs: list[Doc],
    doc_freq: dict[str, int],
    n_docs: int,
    field_means: dict[str, float],
    alternatives: dict[str, dict[str, float]] | None = None,
) -> dict[int, float]:
    """Field-wise BM25 of the products having every word (in any of their fields).

    Each word (reduced by :func:`plural_stem`) scores its best field only (a disjunction
    max, as Lucene's ``DisjunctionMaxQuery`` with its default tie of 0); the words'
    scores add up. A field's score is
    BM25 within that field as Lucene computes it: idf = ln(1 + (N - n + 0.5) / (n + 0.5)),
    tf / (tf + k1 * (1 - b + b * length / mean length of the field)), k1 = 1.2, b = 0.75
    (Robertson & Zaragoza 2009; Lucene's ``BM25Similarity`` and ``DisjunctionMaxQuery``).

    Args:
        words: folded query words (:func:`query_words`).
        doc_freq: word -> number of active products having it, the words of
            ``alternatives`` too (missing: 1).
        n_docs: number of active products (N).
        field_means: field name -> mean length in tokens of the products that have it.
        alternatives: query word -> {catalog word: weight in (0, 1]}: words that stand
            for it ("laptop" -> {"notebook": 0.5}, :func:`shop.search.kinds.expansions`).
            A product without the word but with one of these scores that word's BM25
            times its weight, as a weighted query-time synonym does (Lucene's
            ``SynonymQuery`` with boosts).
    Returns:
        product id -> score (higher is better) for the products having every word;
        the others are left out.
    """

    def idf_of(word: str) -> float:
        df = max(1, doc_freq.get(word, 1))
        return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))

    # Per singular word: its terms (itself first, then the words standing for it), weighted.
    idf: dict[str, list[tuple[str, float]]] = {}
    for word in words:
        key = plural_stem(word)
        own = max(idf[key][0][1], idf_of(word)) if key in idf else idf_of(word)
        others = [
            (plural_stem(w), boost * idf_of(w)) for w, boost in (alternatives or {}).get(word, {}).items()
        ]
        idf[key] = [(key, own), *(idf[key][1:] if key in idf else []), *others]
    scores = {}
    for d in docs:
        texts = dismax_texts(d)
        total = 0.0
        for terms_of_word in idf.values():
            best = _best_field(terms_of_word, texts, field_means)
            if not best:
                break
            total += best
        else:
            if idf:
                scores[d.product_id] = total
    return scores


def _best_field(
    terms_of_word: list[tuple[str, float]], texts: dict[str, str], field_means: dict[str, float]
) -> float:
    """:func:`dismax`'s score of one query word in one product: the best field's BM25 of
    its first term the product has (the word itself, else a word standing for it), each
    term weighted by its (boosted) idf; 0.0 when the product has none.

    A field not yet counted (:func:`_terms`) is counted only if its folded text holds the
    term without its last letter: every token whose singular is the term does
    (:func:`plural_stem` only takes an ending off, or turns "ies" into "y"), so a field
    without it has the term 0 times. A product new to the process then counts only the
    fields a query word may be in: its attributes, some 40 words, seldom are."""
    best = 0.0
    for term, weight in terms_of_word:
        probe = term[:-1]
        for name, text in texts.items():
            terms = _TERMS.get(text)
            if terms is None:
                if probe not in _folded(text):
                    continue
                terms = _terms(text)
            tf = terms.counts.get(term, 0)
            if tf:
                norm = K1 * (1 - B + B * terms.length / max(field_means.get(name, 1.0), 1.0))
                best = max(best, weight * tf / (tf + norm))
        if best:
            break
    return best


def fuse(rankings: list[list[int]], k: int = FUSION_K) -> list[int]:
    """Reciprocal rank fusion: each id scores the sum of 1 / (k + rank) over the rankings
    that hold it (rank from 0); ties keep the first ranking's order.

    Args:
        rankings: lists of product ids, best first; the first holds every id to return.
    Returns:
        The ids of ``rankings[0]``, fused order.
    """
    score = dict.fromkeys(rankings[0], 0.0)
    for ranking in rankings:
        for rank, pid in enumerate(ranking):
            if pid in score:
                score[pid] += 1 / (k + rank)
    return sorted(rankings[0], key=lambda pid: -score[pid])


def forget_terms() -> None:
    """Empty the singular-word caches (a benchmark's cold start)."""
    _TERMS.clear()
    _folded.cache_clear()
    _singular.cache_clear()
