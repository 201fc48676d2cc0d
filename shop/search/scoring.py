"""The first ranker of the re-rank window: BM25 and the product-field signals, the same
for every backend (:mod:`shop.search.ranking` reads the candidates and calls it).

The backend only chooses the candidates (its best ``RERANK_WINDOW`` matches). They are
ordered by :func:`bm25`, computed here as SQLite FTS5 computes it from the backend's own
corpus statistics (:mod:`shop.search.stats`), so SQLite and PostgreSQL rank alike. That
text rank is fused with how completely the product's fields cover the query (any field,
and title and model alone), whether the product is in the category the query names (read
with the importer's category rules, so "notebook" puts notebooks above notebook sleeves),
how much of the product's own category the query names, and whether the query appears as
a phrase in the title. Each signal is a rank or a fraction
in [0, 1]; the fusion is a weighted sum with the few weights below (:func:`rerank`).
The field-wise ranker that this order is then fused with is :mod:`shop.search.fieldwise`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property, lru_cache

from shop.search.query import Alternative, Group, QueryPlan
from shop.search.tokens import stem, tokenize

#: Reciprocal-rank constant for the backend's text ranking (as in RRF).
RRF_K = 10
#: Weights of the signals (the text rank contributes at most 1).
W_TEXT = 1.0
W_COVER = 1.0
W_TITLE = 1.0
W_CATEGORY = 0.5
W_PHRASE = 0.5
W_NAMED = 1.0
W_KIND = 1.0
#: BM25 constants, as SQLite FTS5's ``bm25()`` uses them.
K1 = 1.2
B = 0.75
_MODEL_SEPARATORS = re.compile(r"[-/._]")
_TAGS = re.compile(r"<[^>]*>")
#: Score for covering the query, far above any text score, so that products matching more
#: of the query always come first: :func:`bm25` adds it per matched group, and the backends'
#: ``match`` add it to the products matching every group when only some are required.
COVERAGE = 1000


@dataclass
class Doc:
    """The fields of one candidate product used for re-ranking."""

    product_id: int
    title: str
    model: str
    brand: str
    category: str
    kind: str
    leaf: str = ""
    body: str = ""
    slug: str = ""
    #: The product's attribute values, space-separated.
    attributes: str = ""

    @cached_property
    def plain_body(self) -> str:
        """The description without its HTML tags (as the index holds it; worked out once
        per candidate, though both rankers read it)."""
        return _TAGS.sub(" ", self.body)

    # The fields as the rankers read them, worked out once per Doc: a process keeps the
    # Docs of the products it read (:func:`shop.search.ranking.load_docs`), so a product
    # met again is not joined, tokenized or looked up again.

    @cached_property
    def title_field(self) -> _Field:
        """Title and model, as :func:`rerank` looks for the query in them."""
        return _field(self.title + " " + self.model)

    @cached_property
    def meta_field(self) -> _Field:
        """Brand and product type."""
        return _field(" ".join((self.brand, self.kind)))

    @cached_property
    def bm25_fields(self) -> tuple[_Field, ...]:
        """The fields as the index holds them (:func:`_bm25_fields`)."""
        return tuple(_bm25_fields(self))

    @cached_property
    def bm25_counts(self) -> tuple[int, Counter[str]]:
        """Length in tokens over :attr:`bm25_fields` and the count of each stem."""
        return _stem_counts(self.bm25_fields)


def attribute_text(attributes) -> str:
    """A product's attribute values as one text (``Product.attributes`` is a dict of
    readable name -> value; anything else gives "")."""
    if not isinstance(attributes, dict):
        return ""
    return " ".join(str(v) for v in attributes.values() if v not in (None, ""))


#: Texts whose tokens are kept for the other ranker: both tokenize the window's title,
#: product type and description, one after the other (a window holds some 750 texts).
TOKENS_CACHE_SIZE = 2048


@lru_cache(maxsize=TOKENS_CACHE_SIZE)
def text_tokens(text: str) -> tuple[str, ...]:
    """:func:`shop.search.tokens.tokenize` of a product's text, kept for a while: this
    ranker's fields and the field-wise ranker's (:mod:`shop.search.fieldwise`) read many
    of the same texts, and a product new to the process has all of them tokenized."""
    return tuple(tokenize(text))


class _Field:
    """A field's tokens and their stems (parallel tuples), plus both as a set for
    one-word lookups. Iterating gives ``(token, stem)`` pairs."""

    __slots__ = ("tokens", "stems", "words")

    def __init__(self, text: str):
        self.tokens = text_tokens(text)
        # map() over the cached stem runs in C: a generator costs a Python step a token.
        self.stems = tuple(map(stem, self.tokens))
        self.words = frozenset(self.tokens + self.stems)

    def __len__(self) -> int:
        return len(self.tokens)

    def __iter__(self):
        return zip(self.tokens, self.stems)


#: Fields whose tokens are kept (about 1.8 kB each: some 30 MB when full); the tokens of
#: the products that recent queries returned are then not read again.
FIELD_CACHE_SIZE = 16384


@lru_cache(maxsize=FIELD_CACHE_SIZE)
def _field(text: str) -> _Field:
    """The field's tokens for matching (cached: titles, brands and categories recur
    from query to query; callers never change the result)."""
    return _Field(text)


def forget_fields() -> None:
    """Empty the field token cache (a benchmark's cold start)."""
    _field.cache_clear()
    text_tokens.cache_clear()
    _stem_counts.cache_clear()


def _count(alt: Alternative, field: _Field, first: bool = False) -> int:
    """How often the alternative's tokens occur adjacent and in order in the field
    (a token matches by itself or by its stem; a prefix token by its start).

    Args:
        first: stop at the first occurrence (answers "does it occur?").
    """
    n = len(alt.tokens)
    if n == 0 or n > len(field.tokens):
        return 0
    if n == 1 and not alt.prefix:
        return _count_word(alt, field, first)
    return _count_phrase(alt, field, first)


def _count_word(alt: Alternative, field: _Field, first: bool) -> int:
    """:func:`_count` of a one-token alternative that is not a prefix (the field's word
    set answers whether it occurs at all)."""
    tok, st = alt.tokens[0], alt.stems[0]
    if tok not in field.words and st not in field.words:
        return 0
    if first:
        return 1
    return sum(1 for ftok, fstem in zip(field.tokens, field.stems) if ftok == tok or fstem == st)


def _count_phrase(alt: Alternative, field: _Field, first: bool) -> int:
    """:func:`_count` of a phrase or a prefix, by trying every start in the field."""
    n = len(alt.tokens)
    tokens, stems = field.tokens, field.stems
    wanted = list(zip(alt.tokens, alt.stems))
    last = n - 1
    # A whole token that the field holds neither as typed nor as its stem cannot match
    # anywhere: no need to try every start (most candidates lack some word of a phrase).
    words = field.words
    for i, (tok, st) in enumerate(wanted):
        if not (alt.prefix and i == last) and tok not in words and st not in words:
            return 0
    hits = 0
    for start in range(len(tokens) - n + 1):
        ok = True
        for i, (tok, st) in enumerate(wanted):
            ftok = tokens[start + i]
            if alt.prefix and i == last:
                ok = ftok.startswith(tok)
            else:
                ok = ftok == tok or stems[start + i] == st
            if not ok:
                break
        if ok:
            hits += 1
            if first:
                break
    return hits


def _matches(alt: Alternative, field: _Field) -> bool:
    """True if the alternative's tokens occur adjacent and in order in the field."""
    return _count(alt, field, first=True) > 0


def _group_hits(plan: QueryPlan, field: _Field) -> list[bool]:
    """Per group: does any alternative occur in the field? (A lone whole word is looked up
    in the field's word set here, as :func:`_count_word` would: this runs for every field
    of every candidate.)"""
    words = field.words
    hits = []
    for g in plan.groups:
        hit = False
        for a in g.alternatives:
            if len(a.tokens) == 1 and not a.prefix:
                hit = a.tokens[0] in words or a.stems[0] in words
            else:
                hit = _count(a, field, first=True) > 0
            if hit:
                break
        hits.append(hit)
    return hits


def _phrase_tokens(g: Group) -> tuple[str, ...]:
    """A group's words in the query as one phrase: its correction when that is searched
    ("usb batery" is looked for as "usb battery"), else its first alternative."""
    if g.corrected and Alternative((g.corrected,)) in g.alternatives:
        return (g.corrected,)
    return g.alternatives[0].tokens


def rerank(
    plan: QueryPlan,
    docs: list[Doc],
    ranks: list[dict[int, int]],
    query_leaf: str | None = None,
    kinds: dict[int, float] | None = None,
) -> list[int]:
    """Product ids of ``docs`` in re-ranked order.

    Args:
        ranks: per backend ranker, product id -> 0-based rank (absent: not in its top).
        query_leaf: slug of the category the query names (``Doc.slug`` is compared), if any.
        kinds: product id -> how well the product is of the kind the query names, in
            [0, 1] (:func:`shop.search.kinds.kind_weight`); it gains ``W_KIND`` times that,
            so a notebook ranks above a lock for notebooks.
    """
    kinds = kinds or {}
    n_groups = max(1, len(plan.groups))
    typed = {w for g in plan.groups for a in g.alternatives for t in a.tokens for w in (t, stem(t))}
    # The query as one phrase (typed words, first alternatives; a corrected word as
    # corrected, when its correction is searched), looked for in titles.
    whole = None
    if len(plan.groups) > 1:
        whole = Alternative(tuple(t for g in plan.groups for t in _phrase_tokens(g)))
    scored = []
    for order, d in enumerate(docs):
        text_rank = sum((RRF_K + 1) / (RRF_K + 1 + r[d.product_id]) for r in ranks if d.product_id in r)
        title = d.title_field
        meta = d.meta_field
        in_title = _group_hits(plan, title)
        in_meta = _group_hits(plan, meta)
        in_cat = _group_hits(plan, _field(d.category))
        cover = sum(a or b or c for a, b, c in zip(in_title, in_meta, in_cat)) / n_groups
        title_cover = sum(in_title) / n_groups
        # How much of the product's own (leaf) category the query names: "laptop" names
        # all of "Laptops" but a third of "Laptop parts & docks".
        leaf = _field(d.leaf)
        cat_cover = sum(1 for pair in leaf if set(pair) & typed) / len(leaf) if leaf else 0.0
        phrase = 1.0 if whole is not None and _matches(whole, title) else 0.0
        named = 1.0 if query_leaf and d.slug == query_leaf else 0.0
        kind = kinds.get(d.product_id, 0.0)
        score = (
            W_TEXT * text_rank
            + W_COVER * cover
            + W_NAMED * named
            + W_KIND * kind
            + W_TITLE * title_cover
            + W_CATEGORY * cat_cover
            + W_PHRASE * phrase
        )
        scored.append((-score, order, d.product_id))
    scored.sort()
    return [pid for _, _, pid in scored]


def _bm25_fields(d: Doc) -> list[_Field]:
    """The fields of a product as the index holds them (model also without separators)."""
    model = f"{d.model} {_MODEL_SEPARATORS.sub('', d.model)}"
    return [_field(t) for t in (d.title, model, d.brand, d.category, d.kind, d.plain_body)]


@lru_cache(maxsize=FIELD_CACHE_SIZE)
def _stem_counts(fields: tuple[_Field, ...]) -> tuple[int, Counter[str]]:
    """A product's length in tokens over its BM25 fields and how often each stem occurs
    in them (cached per product text, as the fields are). A lone word matches a token by
    itself or by its stem, and a token equal to the word has the word's stem: its
    frequency is the count of its stem."""
    return sum(len(f) for f in fields), Counter(st for f in fields for st in f.stems)


def doc_length(d: Doc) -> int:
    """A product's length in index tokens (for BM25's length normalization): the tokens of
    its BM25 fields (:func:`_bm25_fields`), counted without keeping them in the field
    cache, which a sample of thousands of products would fill for nothing."""
    model = f"{d.model} {_MODEL_SEPARATORS.sub('', d.model)}"
    return sum(len(tokenize(t)) for t in (d.title, model, d.brand, d.category, d.kind, d.plain_body))


def bm25(
    plan: QueryPlan, docs: list[Doc], doc_freq: dict[Alternative, int], n_docs: int, mean_length: float
) -> dict[int, float]:
    """BM25 of each product over all its indexed text, computed as SQLite FTS5's ``bm25()``
    does, so that every backend orders its candidates by the same text score.

    Every alternative of every group is a phrase; its frequency in a product is summed
    over the fields (title, model as written and without separators, brand, category,
    product type, description) and normalized by the product's length in tokens against
    ``mean_length`` (Robertson & Zaragoza, "The Probabilistic Relevance Framework: BM25
    and Beyond", 2009; FTS5's ``fts5Bm25Function``: k1 = 1.2, b = 0.75,
    idf = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6).

    Args:
        doc_freq: phrase -> number of active products matching it (missing: 1).
        n_docs: number of active products (N).
        mean_length: mean length of an active product in tokens.
    Returns:
        product id -> score (higher is better; 0 when nothing matches). A product
        matching more groups always scores higher (each matched group adds ``COVERAGE``),
        as the backends order partial matches.
    """
    owners = [(gi, a) for gi, g in enumerate(plan.groups) for a in g.alternatives]
    idf = []
    for _, alt in owners:
        df = max(1, doc_freq.get(alt, 1))
        idf.append(max(1e-6, math.log((n_docs - df + 0.5) / (df + 0.5))))
    scores = {}
    for d in docs:
        fields = d.bm25_fields
        length, stem_counts = d.bm25_counts
        norm = K1 * (1 - B + B * length / max(mean_length, 1.0))
        score = 0.0
        matched = set()
        for (gi, alt), weight in zip(owners, idf):
            if len(alt.tokens) == 1 and not alt.prefix:
                tf = stem_counts[alt.stems[0]]
            else:
                tf = sum(_count(alt, f) for f in fields)
            if tf:
                score += weight * tf * (K1 + 1) / (tf + norm)
                matched.add(gi)
        scores[d.product_id] = COVERAGE * len(matched) + score
    return scores
