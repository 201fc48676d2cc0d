"""The product sheet's columns, and values between the database and a sheet's cells.

Money is integer cents in the database and human units (``52.95``) in the sheet. The stock
appears twice: ``stock`` is the figure staff may edit; ``stock_exported`` is the figure the
export showed, which the import uses as the expected value of a compare-and-swap, so a sale
between export and import is a conflict instead of being overwritten.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision
from sqlalchemy import select

from shop.catalog.models import Category
from shop.extensions import db

#: The sheet's header, in order.
COLUMNS = (
    "sku",
    "name",
    "brand",
    "category",
    "price",
    "stock",
    "stock_exported",
    "status",
    "description",
    "image_url",
)
#: Columns an import reads (``stock_exported`` only guards the stock).
EDITABLE = ("name", "brand", "category", "price", "stock", "status", "description", "image_url")


def cents_to_text(cents: int, currency: str) -> str:
    """Integer minor units as the plain amount a sheet shows: 5295 -> ``"52.95"``."""
    digits = get_currency_precision(currency)
    return f"{Decimal(cents).scaleb(-digits):.{digits}f}"


def category_paths() -> dict[int, str]:
    """``{category id: "Parent > Leaf"}`` for every category (a small table, read once)."""
    rows = db.session.execute(select(Category.id, Category.parent_id, Category.name)).all()
    names = {r.id: r.name for r in rows}
    return {r.id: (f"{names[r.parent_id]} > {r.name}" if r.parent_id in names else r.name) for r in rows}


def category_lookup() -> dict[str, int]:
    """``{lower-cased path or slug: id}``: what a sheet's category cell may say."""
    lookup = {path.lower(): cid for cid, path in category_paths().items()}
    for cid, slug in db.session.execute(select(Category.id, Category.slug)):
        lookup.setdefault(slug.lower(), cid)
    return lookup
