"""One page of search results: the product ids in the requested order (the products
themselves: :mod:`shop.search.cards`).

By relevance, a typed query's page comes from the re-rank window
(:func:`shop.search.ranking.window_page`); otherwise, and without a typed query, the
database orders it: by price, or newest first. Ties are broken by id, so pages are stable.
"""

from __future__ import annotations

from sqlalchemy import FromClause, Select, select

from shop.catalog.models import Product
from shop.extensions import db
from shop.search import ranking
from shop.search.params import SearchParams
from shop.search.query import QueryPlan


def page_ids(
    stmt: Select, params: SearchParams, plan: QueryPlan, match: FromClause | None, state: int | None = None
) -> list[int]:
    """Product ids of the requested page in the requested order.

    Args:
        stmt: ``SELECT products.id`` of the listed products, filtered
            (:mod:`shop.search.filters`).
        params: the sort and the page (``page`` from 1, ``per_page`` ids).
        plan: the analysed query.
        match: the backend's match subquery (``product_id, score, ...``); None without a
            typed query.
        state: the index's change counter as this search read it, or None
            (:func:`shop.search.ranking.load_docs`).
    """
    offset = (params.page - 1) * params.per_page
    if params.sort != "relevance" or match is None:
        return list(db.session.scalars(_order(stmt, params.sort).limit(params.per_page).offset(offset)))
    if params.filtered:
        ordered = stmt.order_by(match.c.score.desc(), Product.id)
    else:
        # The index holds only active products: without filters, no join to products
        # (PostgreSQL would otherwise plan a scan of every document for it).
        ordered = select(match.c.product_id).order_by(match.c.score.desc(), match.c.product_id)
        return ranking.window_page(ordered, plan, offset, params.per_page, match, state)
    return ranking.window_page(ordered, plan, offset, params.per_page, state=state)


def _order(stmt: Select, sort: str) -> Select:
    """ORDER BY for a sort by price, or newest first (also relevance without a query)."""
    if sort == "price_asc":
        return stmt.order_by(Product.price_cents.asc(), Product.id)
    if sort == "price_desc":
        return stmt.order_by(Product.price_cents.desc(), Product.id)
    return stmt.order_by(Product.created_at.desc(), Product.id.desc())
