"""Facets of a search (category, brand, price band, in stock) and category helpers.

Each facet counts the matches under every filter except its own, so choosing a brand
still shows how many results the other brands have.
"""

from __future__ import annotations

from typing import Callable

from rapidfuzz import fuzz, process
from sqlalchemy import Select, case, func, select

from shop.catalog.models import Category, Product
from shop.extensions import db

#: Price bands: key -> (label, min cents inclusive, max cents exclusive or None).
PRICE_BANDS: dict[str, tuple[str, int, int | None]] = {
    "0-25": ("Under $25", 0, 2500),
    "25-100": ("$25 to $100", 2500, 10000),
    "100-250": ("$100 to $250", 10000, 25000),
    "250-1000": ("$250 to $1,000", 25000, 100000),
    "1000-": ("$1,000 and up", 100000, None),
}
BRAND_FACET_SIZE = 15


def category_ids(slug: str) -> list[int]:
    """Ids of the category with ``slug`` and its children (empty if unknown)."""
    cat = db.session.scalar(select(Category).where(Category.slug == slug))
    if cat is None:
        return []
    children = db.session.scalars(select(Category.id).where(Category.parent_id == cat.id)).all()
    return [cat.id, *children]


def category_names() -> dict[int, str]:
    """Category id -> name, for every category."""
    return dict(db.session.execute(select(Category.id, Category.name)).all())


def count(stmt: Select) -> int:
    """Number of rows ``stmt`` returns."""
    return int(db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)


def _price_band():
    """SQL CASE mapping a product price to its band key."""
    whens = []
    for key, (_label, _lo, hi) in PRICE_BANDS.items():
        if hi is not None:
            whens.append((Product.price_cents < hi, key))
    return case(*whens, else_=list(PRICE_BANDS)[-1])


def compute(base: Select, params, filtered: Callable) -> dict:
    """Facet counts for the matches of ``base`` under the shopper's filters.

    Returns:
        ``{"category": [{slug, name, full_name, count, selected}], "brand": [{value, count,
        selected}], "price": [{key, label, count, selected}], "in_stock": {count, selected}}``.
    """
    def sub(skip: str):
        return filtered(base, params, skip=skip).subquery()

    s = sub("category")
    cat_rows = db.session.execute(
        select(Product.category_id, func.count()).where(Product.id.in_(select(s.c.id)))
        .group_by(Product.category_id)
    ).all()
    cats = {c.id: c for c in db.session.scalars(
        select(Category).where(Category.id.in_([r[0] for r in cat_rows if r[0] is not None]))
    )}
    category = sorted(
        ({"slug": cats[cid].slug, "name": cats[cid].name, "full_name": cats[cid].full_name,
          "count": int(n), "selected": cats[cid].slug == params.category}
         for cid, n in cat_rows if cid in cats),
        key=lambda f: (-f["count"], f["name"]),
    )
    s = sub("brand")
    brand_rows = db.session.execute(
        select(Product.brand, func.count().label("n")).where(Product.id.in_(select(s.c.id)))
        .where(Product.brand != "").group_by(Product.brand)
        .order_by(func.count().desc(), Product.brand).limit(BRAND_FACET_SIZE)
    ).all()
    brand = [{"value": b, "count": int(n), "selected": b in params.brand} for b, n in brand_rows]
    for chosen in params.brand:  # a chosen brand stays visible even if it is not in the top
        if chosen not in {b["value"] for b in brand}:
            brand.append({"value": chosen, "count": 0, "selected": True})
    s = sub("price")
    band = _price_band()
    price_counts = dict(db.session.execute(
        select(band, func.count()).where(Product.id.in_(select(s.c.id))).group_by(band)
    ).all())
    price = [{"key": k, "label": v[0], "count": int(price_counts.get(k, 0)), "selected": params.price == k}
             for k, v in PRICE_BANDS.items()]
    s = sub("in_stock")
    in_stock = db.session.scalar(
        select(func.count()).where(Product.id.in_(select(s.c.id)), Product.stock > 0)
    )
    return {"category": category, "brand": brand, "price": price,
            "in_stock": {"count": int(in_stock or 0), "selected": bool(params.in_stock)}}


def closest_categories(plan, backend, limit: int = 5) -> list[dict]:
    """Categories whose names best resemble the query words (for a zero-result page).

    Returns:
        ``[{slug, name, full_name}]``, best first; the largest categories if none resemble it.
    """
    cats = db.session.scalars(select(Category)).all()
    if not cats:
        return []
    words = " ".join(g.corrected or g.text for g in plan.groups)
    names = {c.id: c.full_name.lower() for c in cats}
    found = process.extract(words, names, scorer=fuzz.token_set_ratio, limit=limit, score_cutoff=50)
    by_id = {c.id: c for c in cats}
    chosen = [by_id[key] for _name, _score, key in found]
    if not chosen:
        sizes = dict(db.session.execute(
            select(Product.category_id, func.count()).where(Product.status == "active")
            .group_by(Product.category_id)
        ).all())
        chosen = sorted((c for c in cats if c.parent_id is not None), key=lambda c: -sizes.get(c.id, 0))[:limit]
    return [{"slug": c.slug, "name": c.name, "full_name": c.full_name} for c in chosen]
