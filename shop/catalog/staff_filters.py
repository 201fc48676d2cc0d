"""The staff product list's filters, shared by the admin list and the spreadsheet export (so
an export of "the current filtered list" holds exactly the products the list shows)."""

from __future__ import annotations

from sqlalchemy import Select, or_

from shop.catalog.models import Product


def filter_products(stmt: Select, q: str = "", status: str = "", stock: str = "") -> Select:
    """``stmt`` (a select over products) narrowed by the list's filters.

    Args:
        q: matched case-insensitively anywhere in name, SKU or brand ("" for all).
        status: one of the product statuses, or "" for all.
        stock: ``"out"`` (0), ``"low"`` (1 to ``LOW_STOCK_THRESHOLD``) or "" for any.
    """
    q = q.strip()
    if q:
        stmt = stmt.where(
            or_(
                Product.name.icontains(q, autoescape=True),
                Product.sku.icontains(q, autoescape=True),
                Product.brand.icontains(q, autoescape=True),
            )
        )
    if status:
        stmt = stmt.where(Product.status == status)
    if stock == "out":
        stmt = stmt.where(Product.stock == 0)
    elif stock == "low":
        stmt = stmt.where(Product.low_stock)
    return stmt
