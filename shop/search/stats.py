"""Corpus statistics for BM25 (:func:`shop.search.rank.bm25`), the same on every backend.

BM25 needs the number of active products, their mean length in tokens and, per query
phrase, the number of products matching it. They come from the backend's own index and
are cached for ``STAT_TIMEOUT`` seconds (:func:`shop.cache.cached_statistic`): they change
slowly, and a few minutes of staleness moves no ranking noticeably.
"""

from __future__ import annotations

from sqlalchemy import func, select

from shop.cache import cached_statistic
from shop.catalog.models import Category, Product
from shop.extensions import db
from shop.search.query import Alternative, Group, QueryPlan

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


def mean_length() -> float:
    """Mean number of tokens of an active product's indexed text (title, model as written
    and joined, brand, category, product type, description), from an even sample."""

    def produce() -> float:
        from shop.search.rank import Doc, doc_length

        step = max(1, active_count() // LENGTH_SAMPLE)
        parent = Category.__table__.alias("parent")
        rows = db.session.execute(
            select(Product.name, Product.model, Product.brand, Product.product_type,
                   Product.description, Category.name, parent.c.name)
            .outerjoin(Category, Category.id == Product.category_id)
            .outerjoin(parent, parent.c.id == Category.parent_id)
            .where(Product.status == "active", Product.id % step == 0)
            .limit(LENGTH_SAMPLE)
        ).all()
        if not rows:
            return 1.0
        lengths = [
            doc_length(Doc(0, r[0] or "", r[1] or "", r[2] or "", f"{r[5] or ''} {r[6] or ''}",
                           r[3] or "", body=r[4] or ""))
            for r in rows
        ]
        return max(1.0, sum(lengths) / len(lengths))

    return cached_statistic(("search", "mean_length"), produce, STAT_TIMEOUT)


def phrase_doc_freq(backend, phrases: list[Alternative]) -> dict[Alternative, int]:
    """Number of active products matching each phrase in the backend's index (stemmed,
    every field), each cached on its own."""
    from shop.search.facets import count

    out = {}
    for alt in dict.fromkeys(phrases):
        def produce(alt=alt) -> int:
            plan = QueryPlan(" ".join(alt.tokens), [Group(" ".join(alt.tokens), [alt])])
            return count(select(backend.match(plan).c.product_id))

        key = ("search", "df", backend.name, "*" if alt.prefix else "", *alt.tokens)
        out[alt] = cached_statistic(key, produce, STAT_TIMEOUT)
    return out

