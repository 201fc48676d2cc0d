"""Catalog services: product queries for shoppers and the API's edit (the category tree
and counts: :mod:`shop.catalog.categories`, re-exported here).

Shoppers only ever see active products. Listings return plain data (``product_json``
dicts), so pages and the API can cache them (``shop.cache.cached_catalog``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import joinedload, selectinload

from shop.cache import Stamped, cached_catalog, stock_stamps
from shop.catalog.categories import (  # noqa: F401  (the categories are this module's too)
    CATEGORY_TREE_KEY,
    category_info,
    category_tree,
    category_tree_cached,
    get_category,
    product_counts,
)
from shop.catalog.editing import update_product
from shop.catalog.models import Category, Product
from shop.catalog.schemas import SORTS, product_json
from shop.exceptions import NotFound, ValidationFailed
from shop.extensions import db


@dataclass
class ProductFilters:
    """What a listing shows: category ids (a category and its leaves), brand, price
    range in cents (inclusive), sort key (one of ``SORTS``), page and page size."""

    category_ids: tuple[int, ...] | None = None
    brand: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    sort: str = "name"
    page: int = 1
    per_page: int = 24

    def key(self) -> tuple:
        """A cache-key tuple for these filters."""
        ids = ",".join(map(str, self.category_ids)) if self.category_ids else ""
        return (ids, self.brand or "", self.min_price, self.max_price, self.sort, self.page, self.per_page)


def _filtered(filters: ProductFilters):
    """Active products matching ``filters`` (no order, no paging)."""
    stmt = Product.active()
    if filters.category_ids:
        stmt = stmt.where(Product.category_id.in_(filters.category_ids))
    if filters.brand:
        stmt = stmt.where(Product.brand == filters.brand)
    if filters.min_price is not None:
        stmt = stmt.where(Product.price_cents >= filters.min_price)
    if filters.max_price is not None:
        stmt = stmt.where(Product.price_cents <= filters.max_price)
    return stmt


_ORDER = {
    "name": (Product.name.asc(), Product.id.asc()),
    "price_asc": (Product.price_cents.asc(), Product.id.asc()),
    "price_desc": (Product.price_cents.desc(), Product.id.desc()),
    "newest": (Product.released_at.desc().nulls_last(), Product.id.desc()),
}


#: Per sort: the columns it orders by, each with "desc" or not (ties broken by id).
_SORT_COLUMNS = {
    "name": (("name", False), ("id", False)),
    "price_asc": (("price_cents", False), ("id", False)),
    "price_desc": (("price_cents", True), ("id", True)),
    "newest": (("released_at", True), ("id", True)),
}


def _ordering(columns, sort: str) -> list:
    """``ORDER BY`` terms of ``sort`` over ``columns`` (a table's or a subquery's ``c``)."""
    terms = []
    for name, desc in _SORT_COLUMNS[sort]:
        term = columns[name].desc() if desc else columns[name].asc()
        terms.append(term.nulls_last() if name == "released_at" else term)
    return terms


def _page_query(filters: ProductFilters):
    """The select of one page of ``filters``' products, in order.

    A category with leaves lists several ``category_id`` values; no single index returns
    their products in order, so each leaf's first ``page * per_page`` rows are read from
    its own index (``ix_products_active_category_*``) and only those are merged: the work
    is per page, not per match.
    """
    offset = (filters.page - 1) * filters.per_page
    ids = filters.category_ids or ()
    if len(ids) < 2:
        return _filtered(filters).order_by(*_ORDER[filters.sort]).limit(filters.per_page).offset(offset)
    wanted = [Product.id] + [
        getattr(Product, name) for name, _ in _SORT_COLUMNS[filters.sort] if name != "id"
    ]
    branches = [
        _filtered(replace(filters, category_ids=(one,)))
        .with_only_columns(*wanted)
        .order_by(*_ordering(Product.__table__.c, filters.sort))
        .limit(offset + filters.per_page)
        .subquery()
        .select()
        for one in ids
    ]
    merged = union_all(*branches).subquery()
    page_ids = (
        select(merged.c.id)
        .order_by(*_ordering(merged.c, filters.sort))
        .limit(filters.per_page)
        .offset(offset)
    )
    return select(Product).where(Product.id.in_(page_ids)).order_by(*_ORDER[filters.sort])


def _total(filters: ProductFilters) -> int:
    """How many active products match ``filters``: from the maintained counts
    (``product_counts``) unless a price range needs the products themselves."""
    if filters.min_price is not None or filters.max_price is not None:
        base = _filtered(filters).order_by(None)
        return int(db.session.scalar(select(func.count()).select_from(base.subquery())) or 0)
    c = product_counts()
    stmt = select(func.coalesce(func.sum(c.active), 0))
    if filters.category_ids:
        stmt = stmt.where(c.category_id.in_(filters.category_ids))
    if filters.brand:
        stmt = stmt.where(c.brand == filters.brand)
    return int(db.session.scalar(stmt) or 0)


def list_products(filters: ProductFilters) -> dict[str, Any]:
    """One page of active products (:func:`list_products_stamped` without the stamps).

    Returns:
        ``{"items": [product_json], "total": int, "page": int, "per_page": int, "pages": int}``
        (plain data).
    Raises:
        ValidationFailed: an unknown sort key.
    """
    return list_products_stamped(filters).value


def list_products_stamped(filters: ProductFilters) -> Stamped:
    """One page of active products, as a :class:`shop.cache.Stamped` value: the page's
    data (as :func:`list_products`) with the stock stamps of its products.

    Raises:
        ValidationFailed: an unknown sort key.
    """
    if filters.sort not in SORTS:
        raise ValidationFailed("Unknown sort order.", {"sort": ["Must be one of: " + ", ".join(SORTS) + "."]})
    total = _total(filters)
    rows = db.session.scalars(
        _page_query(filters).options(selectinload(Product.category).selectinload(Category.parent))
    ).all()
    items, stamps = _with_fresh_stock(rows)
    page = {
        "items": items,
        "total": int(total),
        "page": filters.page,
        "per_page": filters.per_page,
        "pages": max(1, -(-int(total) // filters.per_page)),
    }
    return Stamped(page, stamps)


def _with_fresh_stock(rows: list[Product], detail: bool = False) -> tuple[list[dict], dict | None]:
    """``product_json`` of ``rows`` with their stock read again *after* their stock stamps.

    A sale committed after the rows were loaded is then either in the figures or newer than
    the stamps (so the entry built from them is rebuilt on the next read); see
    ``shop.cache``. Returns ``(items, stamps or None when the cache is down)``.
    """
    if not rows:
        return [], {}
    stamps = stock_stamps(p.id for p in rows)
    stock = dict(
        db.session.execute(
            select(Product.id, Product.stock).where(Product.id.in_([p.id for p in rows]))
        ).all()
    )
    items = []
    for p in rows:
        data = product_json(p, detail=detail)
        units = int(stock.get(p.id, data["stock"]))
        data["stock"], data["in_stock"] = units, units > 0
        items.append(data)
    return items, stamps


def products_stamped(ids: list[int]) -> tuple[dict[int, dict], dict | None]:
    """``{product id: product_json}`` of the products ``ids`` (unknown ids left out), with
    their stock read after their stock stamps, as :func:`_with_fresh_stock` gives them;
    and the stamps."""
    if not ids:
        return {}, {}
    rows = list(
        db.session.scalars(
            select(Product)
            .where(Product.id.in_(ids))
            .options(selectinload(Product.category).selectinload(Category.parent))
        )
    )
    items, stamps = _with_fresh_stock(rows)
    return {row.id: item for row, item in zip(rows, items, strict=True)}, stamps


def list_products_cached(filters: ProductFilters) -> dict[str, Any]:
    """:func:`list_products`, cached under the catalog version and its products' stock stamps."""
    return cached_catalog(("products",) + filters.key(), lambda: list_products_stamped(filters))


def brand_counts(category_ids: tuple[int, ...] | None = None, limit: int = 50) -> list[dict]:
    """Brands of the active products (in the given categories), most products first.

    Returns:
        ``[{"brand": str, "count": int}]``, at most ``limit``.
    """
    c = product_counts()
    total = func.sum(c.active)
    stmt = (
        select(c.brand, total)
        .where(c.brand != "")
        .group_by(c.brand)
        .having(total > 0)
        .order_by(total.desc(), c.brand)
        .limit(limit)
    )
    if category_ids:
        stmt = stmt.where(c.category_id.in_(category_ids))
    return [{"brand": b, "count": int(n)} for b, n in db.session.execute(stmt).all()]


def get_active_product(slug: str) -> Product:
    """The active product with ``slug`` (category and parent loaded).

    Raises:
        NotFound: no such product, or it is draft/archived (shoppers never see those).
    """
    product = db.session.scalar(
        select(Product)
        .where(Product.slug == slug, Product.status == "active")
        # One query with its category and parent (a product page's cache miss).
        .options(joinedload(Product.category).joinedload(Category.parent))
    )
    if product is None:
        raise NotFound("No such product.")
    return product


def product_detail_data(slug: str) -> dict[str, Any]:
    """``product_json(product, detail=True)`` for an active product, cached.

    Raises:
        NotFound: no such active product.
    """

    data = cached_catalog(product_key(slug), lambda: product_detail_stamped(slug))
    if not data:
        raise NotFound("No such product.")
    return data


def product_key(slug: str) -> tuple:
    """Key parts of a product's cached JSON (shared by its page and the API)."""
    return ("product", slug)


def product_detail_stamped(slug: str) -> Stamped | dict:
    """``product_json(product, detail=True)`` of an active product with its stock stamp
    (:class:`shop.cache.Stamped`), or ``{}`` when there is no such active product (cached
    too: a miss costs one lookup per catalog version)."""
    try:
        product = get_active_product(slug)
    except NotFound:
        return {}
    items, stamps = _with_fresh_stock([product], detail=True)
    return Stamped(items[0], stamps)


def patch_product(slug: str, data: dict[str, Any], actor_id: int | None) -> Product:
    """Apply an API edit to the product with ``slug`` (any status; staff only).

    Args:
        data: validated ``ProductPatchSchema`` fields; ``category`` is a slug (or None to
            clear it), ``stock`` comes with ``expected_stock`` (compare-and-swap).
        actor_id: the staff user, recorded in the stock ledger.
    Returns:
        The updated, flushed product.
    Raises:
        NotFound: no such product, or no such category (a reference to something missing is
            a 404, as for the product itself).
        ValidationFailed: invalid fields.
        StaleWrite: the stock is no longer ``expected_stock``.
    """
    product_id = db.session.scalar(select(Product.id).where(Product.slug == slug))
    if product_id is None:
        raise NotFound("No such product.")
    changes = {k: v for k, v in data.items() if k not in ("category", "expected_stock")}
    if "category" in data:
        if data["category"] is None:
            changes["category_id"] = None
        else:
            category_id = db.session.scalar(select(Category.id).where(Category.slug == data["category"]))
            if category_id is None:
                raise NotFound(f"No category '{data['category']}'.", {"category": ["No such category."]})
            changes["category_id"] = category_id
    product = update_product(product_id, changes, actor_id, expected_stock=data.get("expected_stock"))
    db.session.refresh(product)
    return product
