"""Corpus statistics for BM25 (:func:`shop.search.scoring.bm25` and the field-wise
:func:`shop.search.fieldwise.dismax`), the same on every backend.

BM25 needs the number of active products, their mean length in tokens (per field for
the field-wise ranker) and, per query phrase, the number of products matching it. They
come from the database and the backend's own index and are cached for ``STAT_TIMEOUT``
seconds (:func:`shop.cache_statistics.cached_statistic`): they change slowly, and a few
minutes of staleness moves no ranking noticeably.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select

from shop.cache_statistics import cached_statistic, cached_statistics
from shop.catalog.models import Category, Product
from shop.extensions import db
from shop.search.fieldwise import DISMAX_FIELDS, dismax_texts
from shop.search.query import Alternative, Group, QueryPlan
from shop.search.scoring import Doc, attribute_text, doc_length
from shop.search.tokens import tokenize

#: Seconds a statistic stays cached.
STAT_TIMEOUT = 600
#: Products sampled (evenly by id) to estimate the mean length.
LENGTH_SAMPLE = 2000


def active_count() -> int:
    """Number of active products (at least 1)."""

    def produce() -> int:
        stmt = select(func.count()).select_from(Product).where(Product.status == "active")
        return max(1, int(db.session.scalar(stmt) or 0))

    return cached_statistic(("search", "n_docs"), produce, STAT_TIMEOUT)


def _sample_docs() -> list:
    """An even sample (by id) of at most ``LENGTH_SAMPLE`` active products as
    :class:`shop.search.scoring.Doc` (the fields the rankers read)."""
    step = max(1, active_count() // LENGTH_SAMPLE)
    parent = Category.__table__.alias("parent")
    rows = db.session.execute(
        select(
            Product.name,
            Product.model,
            Product.brand,
            Product.product_type,
            Product.description,
            Category.name,
            parent.c.name,
            Product.attributes,
        )
        .outerjoin(Category, Category.id == Product.category_id)
        .outerjoin(parent, parent.c.id == Category.parent_id)
        .where(Product.status == "active", Product.id % step == 0)
        .limit(LENGTH_SAMPLE)
    ).all()
    return [
        Doc(
            0,
            r[0] or "",
            r[1] or "",
            r[2] or "",
            f"{r[5] or ''} {r[6] or ''}",
            r[3] or "",
            body=r[4] or "",
            attributes=attribute_text(r[7]),
        )
        for r in rows
    ]


def mean_length() -> float:
    """Mean number of tokens of an active product's indexed text (title, model as written
    and joined, brand, category, product type, description), from an even sample."""

    def produce() -> float:
        lengths = [doc_length(d) for d in _sample_docs()]
        return max(1.0, sum(lengths) / len(lengths)) if lengths else 1.0

    return cached_statistic(("search", "mean_length"), produce, STAT_TIMEOUT)


def field_means() -> dict[str, float]:
    """Per field of :data:`shop.search.fieldwise.DISMAX_FIELDS`: the mean length in tokens of
    the active products that have the field (as Lucene averages a field), from an even
    sample; 1.0 for a field no sampled product has."""

    def produce() -> dict[str, float]:
        lengths: dict[str, list[int]] = {name: [] for name in DISMAX_FIELDS}
        for d in _sample_docs():
            for name, text in dismax_texts(d).items():
                if n := len(tokenize(text)):
                    lengths[name].append(n)
        return {name: (sum(v) / len(v) if v else 1.0) for name, v in lengths.items()}

    return cached_statistic(("search", "field_means"), produce, STAT_TIMEOUT)


def word_doc_freq(backend, words: list[str]) -> dict[str, int]:
    """Number of active products having each word (the backend's stemmed index, every
    field; :func:`phrase_doc_freq` of the one-word phrase)."""
    alts = {w: Alternative((w,)) for w in words}
    freq = phrase_doc_freq(backend, list(alts.values()))
    return {w: freq[a] for w, a in alts.items()}


class CachedVocabulary:
    """A backend's vocabulary (:class:`shop.search.query.Vocabulary`) whose document counts
    of unstemmed words are statistics (:func:`vocabulary_doc_freq`): analysing a query made
    of words met before then reads nothing from the database. Whether a word is in the
    stemmed index and which words resemble it are asked of the backend: a word counted 0
    a while ago is still known at once when a new product has it
    (:func:`shop.search.query.analyze` asks :meth:`stem_hits` of a word counted 0)."""

    def __init__(self, backend):
        self.backend = backend

    def doc_freq(self, words: list[str]) -> dict[str, int]:
        """:func:`vocabulary_doc_freq` of the backend."""
        return vocabulary_doc_freq(self.backend, words)

    def stem_hits(self, word: str) -> bool:
        """The backend's :meth:`~shop.search.backends.base.SearchBackend.stem_hits`."""
        return self.backend.stem_hits(word)

    def near_words(self, word: str, limit: int = 50) -> list[tuple[str, int]]:
        """The backend's :meth:`~shop.search.backends.base.SearchBackend.near_words`."""
        return self.backend.near_words(word, limit)

    def phrase_freq(self, tokens: tuple[str, ...]) -> int:
        """The backend's :meth:`~shop.search.backends.base.SearchBackend.phrase_freq`."""
        return self.backend.phrase_freq(tokens)


def vocabulary_doc_freq(backend, words: list[str]) -> dict[str, int]:
    """Number of active products having each unstemmed word (the backend's ``doc_freq``:
    what query analysis weighs corrections, joins and splits by), each cached on its own
    for ``STAT_TIMEOUT`` seconds; the words not cached are read in one statement."""
    by_key = {("search", "vf", backend.name, w): w for w in words}
    read: dict[str, int] = {}

    def produce(key: tuple) -> int:
        if not read:  # the first word missing reads every word of the call at once
            read.update(backend.doc_freq(list(by_key.values())))
        return read.get(by_key[key], 0)

    counts = cached_statistics(list(by_key), produce, STAT_TIMEOUT)
    return dict(zip(by_key.values(), counts, strict=True))


def phrase_doc_freq(backend, phrases: list[Alternative]) -> dict[Alternative, int]:
    """Number of active products matching each phrase in the backend's index (stemmed,
    every field), each cached on its own and all read in one cache round trip
    (:func:`shop.cache_statistics.cached_statistics`)."""
    by_key = {("search", "df", backend.name, "*" if a.prefix else "", *a.tokens): a for a in phrases}

    def produce(key: tuple) -> int:
        alt = by_key[key]
        plan = QueryPlan(" ".join(alt.tokens), [Group(" ".join(alt.tokens), [alt])])
        return _count(select(backend.match(plan, scored=False).c.product_id))

    counts = cached_statistics(list(by_key), produce, STAT_TIMEOUT)
    return {alt: n for alt, n in zip(by_key.values(), counts, strict=True)}


def _count(stmt: Select) -> int:
    """Number of rows ``stmt`` returns."""
    return int(db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)
