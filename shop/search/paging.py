"""One page of search results: the product ids in the requested order, and the products.

By relevance, a typed query's page comes from the re-rank window
(:func:`shop.search.ranking.window_page`); otherwise, and without a typed query, the
database orders it: by price, or newest first. Ties are broken by id, so pages are stable.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import FromClause, Select, select

from shop.catalog.models import Product
from shop.extensions import db
from shop.search import ranking
from shop.search.facets import category_table
from shop.search.params import SearchParams
from shop.search.query import QueryPlan
from shop.sqlin import id_in


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


@dataclass(frozen=True, slots=True)
class CategoryCard:
    """A product's category as result lists name it (:func:`shop.catalog.schemas.category_json`)."""

    slug: str
    name: str
    #: ``Parent > Child`` for a leaf, the name for a top-level category.
    full_name: str


@dataclass(frozen=True, slots=True)
class ProductCard:
    """A product as a list of results shows it: what
    :func:`shop.catalog.schemas.product_json` reads of a :class:`Product`, read as plain
    columns (no ORM object: a page of 24 products through the ORM, with their categories
    and the categories' parents joined, cost more than the rest of its loading together).
    Money in integer cents of the shop currency."""

    id: int
    sku: str
    slug: str
    name: str
    brand: str | None
    category: CategoryCard | None
    price_cents: int
    stock: int
    status: str
    image_url: str | None


def load_products(ids: list[int]) -> list[ProductCard]:
    """The products of ``ids`` as :class:`ProductCard` s, in the order of ``ids`` (ids of
    missing products are left out); their categories' names come from the category table
    kept per catalog version (:func:`shop.search.facets.category_table`)."""
    if not ids:
        return []
    rows = db.session.execute(
        select(
            Product.id,
            Product.sku,
            Product.slug,
            Product.name,
            Product.brand,
            Product.category_id,
            Product.price_cents,
            Product.stock,
            Product.status,
            Product.image_url,
        ).where(id_in(Product.id, ids))
    ).all()
    cats = category_table()
    by_id = {}
    for pid, sku, slug, name, brand, category_id, price, stock, status, image in rows:
        cat = cats.get(category_id)
        card = CategoryCard(cat["slug"], cat["name"], cat["full_name"]) if cat else None
        by_id[pid] = ProductCard(pid, sku, slug, name, brand, card, price, stock, status, image)
    return [by_id[i] for i in ids if i in by_id]
