"""Sales figures for the staff dashboard: revenue, orders, units, per-day series, top
products and categories, stock that will run out, and orders waiting for staff.

**Revenue** is the money kept from the orders that were paid: orders whose status is one of
:data:`PAID_STATUSES` (paid, shipped, delivered, partially refunded, refunded), counted on
the local day of their ``created_at``, each for its ``total_cents`` (goods after discount,
shipping and tax, as the shopper paid it) minus every *succeeded* refund of that order
(whenever the refund was made: it is taken off the order's own day, so a past period's
figure can go down later). Pending, failed or cancelled orders never count. **Orders** are
the same orders, **average order value** is revenue / orders (rounded to the cent, half up),
and **units sold** the quantities of their lines (refunded units included: refunds are
money, not a count of returned goods).

Products and categories are ranked by the net amount of their lines in those orders
(``unit_price_cents * quantity - discount_cents``: no shipping, no tax, refunds not taken
off), so their figures do not add up to revenue. A category is the product's category now.

**Days** are local days of the shop's time zone (``SHOP_TIMEZONE``), put in days by SQL
(:mod:`shop.admin.sales_days`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    and_,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import selectinload

from shop.admin.sales_days import (  # noqa: F401  (the periods are this module's too)
    Period,
    local_day,
    local_midnight,
    period_ending,
    today,
)
from shop.catalog.models import Category, Product
from shop.extensions import db
from shop.orders.models import Order, OrderLine
from shop.orders.sales_marks import PAID_STATUSES  # noqa: F401  (the statuses revenue counts)
from shop.payments.models import Refund
from shop.sqlin import id_in

#: Products expected to run out within this many days are listed.
RUNOUT_DAYS = 14
#: An order still waiting for its payment this long after it was placed is listed.
STALE_PENDING_AFTER = timedelta(hours=48)
#: Rows in each top list and in each list of waiting orders.
TOP_N = 10
WAITING_SHOWN = 5


# --- queries -------------------------------------------------------------------------------


def _paid_in(period: Period):
    """Conditions: an order that was paid, placed within ``period``."""
    lo, hi = period.utc_bounds()
    return and_(Order.status.in_(PAID_STATUSES), Order.created_at >= lo, Order.created_at < hi)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def daily_sales(period: Period) -> list[dict]:
    """Per local day of ``period``: ``[{"day": date, "revenue_cents", "orders"}]``, every
    day present (zeros included), oldest first. Revenue as defined in the module docstring.

    Two grouped sums: the orders' totals (an index-only scan of the period's orders), and
    the succeeded refunds of those orders, put on the day of their order."""
    dialect = _dialect()
    # Grouped by the label: the CASE holds bound parameters, which PostgreSQL would not
    # recognise as the same expression in SELECT and GROUP BY.
    day = local_day(Order.created_at, period, dialect).label("local_day")
    by_label = literal_column("local_day")
    placed = db.session.execute(
        select(day, func.count(Order.id), func.sum(Order.total_cents))
        .where(_paid_in(period))
        .group_by(by_label)
    ).all()
    refunded = db.session.execute(
        select(local_day(Order.created_at, period, dialect).label("local_day"), func.sum(Refund.amount_cents))
        .join(Order, Order.id == Refund.order_id)
        .where(_paid_in(period), Refund.status == "succeeded")
        .group_by(by_label)
    ).all()
    orders = {str(d): (int(n), int(cents)) for d, n, cents in placed}
    refunds = {str(d): int(cents) for d, cents in refunded}
    out = []
    for d in period.dates():
        n, cents = orders.get(d.isoformat(), (0, 0))
        out.append({"day": d, "orders": n, "revenue_cents": cents - refunds.get(d.isoformat(), 0)})
    return out


@dataclass(frozen=True)
class ProductSales:
    """One product's sales in a period: units and net line amount in cents
    (``unit_price_cents * quantity - discount_cents``), with the product as it is now
    (``product``: a row of ``id, sku, name, category_id, stock, status``; None, and
    ``product_id`` None, for lines whose product was deleted)."""

    product_id: int | None
    units: int
    amount_cents: int
    product: Any = None


def product_sums(period: Period) -> dict[int | None, tuple[int, int]]:
    """Per product, ``{product_id: (units, net line cents)}`` of the lines of the orders
    revenue counts in ``period``, summed in SQL (an index-only scan with the 0012 indexes);
    ``None`` gathers the lines of deleted products."""
    rows = db.session.execute(
        select(
            OrderLine.product_id,
            func.sum(OrderLine.quantity),
            func.sum(OrderLine.unit_price_cents * OrderLine.quantity - OrderLine.discount_cents),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(_paid_in(period))
        .group_by(OrderLine.product_id)
    ).all()
    return {pid: (int(units), int(cents)) for pid, units, cents in rows}


def with_products(sums: dict[int | None, tuple[int, int]]) -> list[ProductSales]:
    """:func:`product_sums` as :class:`ProductSales` with each product as it is now (one
    query for the few product columns needed), highest amount first; lines of products
    deleted since are one entry, ``product_id`` None."""
    ids = [pid for pid in sums if pid is not None]
    cols = (Product.id, Product.sku, Product.name, Product.category_id, Product.stock, Product.status)
    products = (
        {r.id: r for r in db.session.execute(select(*cols).where(id_in(Product.id, ids)))} if ids else {}
    )
    out = []
    gone_units = gone_cents = 0
    for pid, (units, cents) in sums.items():
        product = products.get(pid)
        if product is None:
            gone_units, gone_cents = gone_units + units, gone_cents + cents
        else:
            out.append(ProductSales(pid, units, cents, product))
    if gone_units or gone_cents or None in sums:
        out.append(ProductSales(None, gone_units, gone_cents))
    out.sort(key=lambda r: (-r.amount_cents, r.product_id is None, r.product_id or 0))
    return out


def product_sales(period: Period) -> list[ProductSales]:
    """Per product, the lines of the orders revenue counts in ``period``, highest amount
    first: :func:`product_sums` with the products (:func:`with_products`). One query feeds
    units sold, the top lists and the run-out estimate."""
    return with_products(product_sums(period))


def average(total: int, count: int) -> int:
    """``total / count`` rounded half up; 0 when ``count`` is 0."""
    if not count:
        return 0
    q, r = divmod(total, count)
    return q + (1 if 2 * r >= count else 0)


def change(current: int, previous: int) -> float | None:
    """Relative change ``current / previous - 1`` (0.25 is +25 %), None when ``previous`` is 0."""
    if not previous:
        return None
    return current / previous - 1


@dataclass
class Totals:
    """A period's figures: money in cents, counts as integers."""

    revenue_cents: int
    orders: int
    average_order_cents: int
    units: int


def top_products(period: Period, limit: int = TOP_N, sold: list[ProductSales] | None = None) -> list[dict]:
    """Best-selling products of ``period`` by line amount: ``[{"product_id", "sku", "name",
    "units", "revenue_cents"}]``, highest first; a deleted product is ``product_id`` None,
    named "Deleted products" (all of them together)."""
    top = (product_sales(period) if sold is None else sold)[:limit]
    out = []
    for r in top:
        p = r.product
        out.append(
            {
                "product_id": p.id if p else None,
                "sku": p.sku if p else "",
                "name": p.name if p else "Deleted products",
                "units": r.units,
                "revenue_cents": r.amount_cents,
            }
        )
    return out


def top_categories(period: Period, limit: int = TOP_N, sold: list[ProductSales] | None = None) -> list[dict]:
    """Categories of ``period`` by line amount of their products (the products' category
    now): ``[{"category_id", "name", "units", "revenue_cents"}]``, highest first;
    ``category_id`` None gathers products without a category or deleted, "Uncategorized".
    The per-product sums come from SQL; adding them up per category is exact integer work."""
    sold = product_sales(period) if sold is None else sold
    by_category: dict[int | None, list[int]] = {}
    for r in sold:
        p = r.product
        entry = by_category.setdefault(p.category_id if p else None, [0, 0])
        entry[0] += r.units
        entry[1] += r.amount_cents
    ranked = sorted(by_category.items(), key=lambda kv: (-kv[1][1], kv[0] is None, kv[0] or 0))[:limit]
    ids = [cid for cid, _ in ranked if cid is not None]
    found = select(Category).where(Category.id.in_(ids)).options(selectinload(Category.parent))
    categories = {c.id: c for c in db.session.scalars(found)} if ids else {}
    return [
        {
            "category_id": cid,
            "name": categories[cid].full_name if cid in categories else "Uncategorized",
            "units": units,
            "revenue_cents": cents,
        }
        for cid, (units, cents) in ranked
    ]


def running_out(
    period: Period,
    within_days: int = RUNOUT_DAYS,
    limit: int = 20,
    sold: list[ProductSales] | None = None,
) -> list[dict]:
    """Active products expected to run out within ``within_days`` at the rate they sold in
    ``period`` (units sold / days of the period): ``[{"product_id", "sku", "name", "stock",
    "units", "per_day", "days_left"}]``, soonest first. ``days_left`` is ``stock / per_day``
    (a float; 0 for a product already out of stock that sold in the period)."""
    sold = product_sales(period) if sold is None else sold
    out = []
    for r in sold:
        p = r.product
        # stock / (units / days) < within  <=>  stock * days < within * units (integers)
        if p is None or p.status != "active" or p.stock * period.days >= within_days * r.units:
            continue
        per_day = r.units / period.days
        out.append(
            {
                "product_id": p.id,
                "sku": p.sku,
                "name": p.name,
                "stock": p.stock,
                "units": r.units,
                "per_day": per_day,
                "days_left": p.stock / per_day,
            }
        )
    out.sort(key=lambda r: (r["days_left"], r["sku"]))
    return out[:limit]


@dataclass
class Waiting:
    """Orders waiting for staff: counts and the oldest few of each kind."""

    to_ship: int = 0
    attention: int = 0
    stale_pending: int = 0
    oldest_to_ship: list = field(default_factory=list)
    needing_attention: list = field(default_factory=list)
    oldest_pending: list = field(default_factory=list)


def waiting_orders(now: datetime | None = None, shown: int = WAITING_SHOWN) -> Waiting:
    """Orders waiting for action now, whatever the period: paid but not shipped; with an
    ``attention`` note; waiting for payment longer than :data:`STALE_PENDING_AFTER`. Lists
    hold :class:`~shop.orders.models.Order` rows, oldest first."""
    now = now or datetime.now(timezone.utc)
    kinds = {
        "to_ship": Order.status == "paid",
        "attention": Order.attention != "",
        "stale_pending": and_(
            Order.status == "pending_payment", Order.created_at < now - STALE_PENDING_AFTER
        ),
    }
    # One count per kind, each on an index (status; the partial index of attention notes).
    counts = {key: int(db.session.scalar(select(func.count()).where(cond))) for key, cond in kinds.items()}
    lists = {
        key: list(
            db.session.scalars(select(Order).where(cond).order_by(Order.created_at, Order.id).limit(shown))
        )
        if counts[key]
        else []
        for key, cond in kinds.items()
    }
    return Waiting(
        **counts,
        oldest_to_ship=lists["to_ship"],
        needing_attention=lists["attention"],
        oldest_pending=lists["stale_pending"],
    )
