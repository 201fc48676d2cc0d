"""The products a search lists, as SQL: the active ones (those a match holds, for a typed
query) under the shopper's filters."""

from __future__ import annotations

from sqlalchemy import FromClause, Select, select

from shop.catalog.models import Product
from shop.search.facets import PRICE_BANDS, category_ids
from shop.search.params import SearchParams


def listed(match: FromClause | None = None) -> Select:
    """``SELECT products.id`` of the active products; with a match subquery (a backend's
    ``match``: ``product_id, score, ...``), only of those it holds."""
    stmt = select(Product.id)
    if match is not None:
        stmt = stmt.join(match, match.c.product_id == Product.id)
    return stmt.where(Product.status == "active")


def apply_filters(stmt: Select, params: SearchParams) -> Select:
    """``stmt`` (over ``products``) narrowed by the shopper's category (with its children),
    brands, price band (cents, upper bound exclusive) and in-stock filters."""
    if params.category:
        stmt = stmt.where(Product.category_id.in_(category_ids(params.category)))
    if params.brand:
        stmt = stmt.where(Product.brand.in_(params.brand))
    if params.price:
        lo, hi = PRICE_BANDS[params.price]
        stmt = stmt.where(Product.price_cents >= lo)
        if hi is not None:
            stmt = stmt.where(Product.price_cents < hi)
    if params.in_stock:
        stmt = stmt.where(Product.stock > 0)
    return stmt
