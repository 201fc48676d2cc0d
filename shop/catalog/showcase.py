"""What the home page shows before the category index: featured products and best sellers.

Both return plain product dicts (``shop.catalog.schemas.product_json``), for a cached page
fragment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from shop.catalog.models import Category, Product
from shop.catalog.schemas import product_json
from shop.dbtypes import utcnow
from shop.extensions import db
from shop.orders.models import Order, OrderLine

#: Orders in these states count as sales for the best sellers.
SOLD_STATUSES = ("pending_payment", "paid", "shipped", "delivered", "partially_refunded")


def featured_products(limit: int = 8) -> list[dict[str, Any]]:
    """``[product_json]`` of :func:`featured_product_ids`."""
    return _products(featured_product_ids(limit))


def featured_product_ids(limit: int = 8) -> list[int]:
    """One product from each top-level category, then a second round, ... up to ``limit``:
    in stock, newest release first within a category, so the home page shows the range of
    the shop rather than eight ink cartridges.

    Returns:
        Product ids, at most ``limit``, in round order (category by category).
    """
    rows = db.session.execute(
        select(Product.id, Category.parent_id, Category.id)
        .join(Category, Product.category_id == Category.id)
        .where(Product.status == "active", Product.stock > 0)
        .order_by(Product.released_at.desc().nulls_last(), Product.id.desc())
        .limit(limit * 40)
    ).all()
    by_top: dict[int, list[int]] = {}
    for product_id, parent_id, category_id in rows:
        by_top.setdefault(parent_id or category_id, []).append(product_id)
    chosen: list[int] = []
    queues = list(by_top.values())
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    return chosen


def best_sellers(limit: int = 8, days: int = 90) -> list[dict[str, Any]]:
    """``[product_json]`` of :func:`best_seller_ids`."""
    return _products(best_seller_ids(limit, days))


def best_seller_ids(limit: int = 8, days: int = 90) -> list[int]:
    """The active, in-stock products with the most units ordered in the last ``days`` days
    (cancelled and refunded orders left out), most first; ties by product id.

    Returns:
        Product ids, at most ``limit``; empty while the shop has no sales.
    """
    since = utcnow() - timedelta(days=days)
    units = func.sum(OrderLine.quantity)
    rows = db.session.execute(
        select(OrderLine.product_id, units)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.created_at >= since,
            Order.status.in_(SOLD_STATUSES),
            Product.status == "active",
            Product.stock > 0,
        )
        .group_by(OrderLine.product_id)
        .order_by(units.desc(), OrderLine.product_id)
        .limit(limit)
    ).all()
    return [product_id for product_id, _ in rows]


def _products(ids: list[int]) -> list[dict[str, Any]]:
    """``product_json`` of these products, in the order of ``ids``."""
    if not ids:
        return []
    found = {
        p.id: p
        for p in db.session.scalars(
            select(Product)
            .where(Product.id.in_(ids))
            .options(selectinload(Product.category).selectinload(Category.parent))
        )
    }
    return [product_json(found[i]) for i in ids if i in found]
