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

**Days** are local days of the shop's time zone (``SHOP_TIMEZONE``, an IANA name, default
UTC). A period is a range of local dates, both ends included; its bounds are the UTC
instants of local midnight (``zoneinfo``). Orders are put in days by SQL on both SQLite and
PostgreSQL: the period is cut into runs of whole days that start and end with the same UTC
offset, and within a run an order's local date is the date of ``created_at`` shifted by
that offset; a day on which the offset changes (a DST change: 23 or 25 hours long) is its
own run whose bucket is that date as a literal. One ``CASE`` over those few runs does the
bucketing, so days are right across DST changes and all money is summed in SQL, in cents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, case, cast, func, literal, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from shop.catalog.models import Category, Product
from shop.extensions import db
from shop.orders.models import Order, OrderLine
from shop.payments.models import Refund

#: Statuses of orders that were paid: the orders revenue counts.
PAID_STATUSES = ("paid", "shipped", "delivered", "partially_refunded", "refunded")
#: Products expected to run out within this many days are listed.
RUNOUT_DAYS = 14
#: An order still waiting for its payment this long after it was placed is listed.
STALE_PENDING_AFTER = timedelta(hours=48)
#: Rows in each top list and in each list of waiting orders.
TOP_N = 10
WAITING_SHOWN = 5


@dataclass(frozen=True)
class Period:
    """Local dates ``start`` to ``end``, both included, in ``tz``."""

    start: date
    end: date
    tz: ZoneInfo

    @property
    def days(self) -> int:
        """Number of local days in the period (at least 1)."""
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1), self.tz)

    def dates(self) -> list[date]:
        """Every local date of the period, in order."""
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """``(first instant, instant after the last)`` of the period, as aware UTC datetimes."""
        return local_midnight(self.start, self.tz), local_midnight(self.end + timedelta(days=1), self.tz)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which local ``day`` begins in ``tz`` (where midnight falls in a DST
    gap, the end of the gap)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


def period_ending(end: date, days: int, tz: ZoneInfo) -> Period:
    """The ``days`` local days ending with ``end`` (included)."""
    return Period(end - timedelta(days=days - 1), end, tz)


def today(tz: ZoneInfo, now: datetime | None = None) -> date:
    """The local date in ``tz`` now (or at ``now``, an aware datetime)."""
    return (now or datetime.now(timezone.utc)).astimezone(tz).date()


# --- local days in SQL ---------------------------------------------------------------------


def _shifted_date(col, offset_seconds: int, dialect: str) -> ColumnElement:
    """SQL: the date (``YYYY-MM-DD`` text) of UTC timestamp ``col`` shifted by the offset."""
    if dialect == "postgresql":
        shifted = func.timezone("UTC", col) + literal_column(f"INTERVAL '{int(offset_seconds)} seconds'")
        return func.to_char(shifted, "YYYY-MM-DD")
    return func.date(col, f"{int(offset_seconds):+d} seconds")


def local_day(col, period: Period, dialect: str) -> ColumnElement:
    """SQL: the local date (``YYYY-MM-DD`` text) of UTC timestamp ``col``, for rows inside
    ``period`` (see the module's docstring for how DST changes are handled)."""
    whens = []
    run_offset: timedelta | None = None
    for day in period.dates():
        begin = datetime.combine(day, time(0), tzinfo=period.tz)
        nxt = datetime.combine(day + timedelta(days=1), time(0), tzinfo=period.tz)
        day_end = local_midnight(day + timedelta(days=1), period.tz)
        if begin.utcoffset() != nxt.utcoffset():  # a DST change inside the day: its own bucket
            if run_offset is not None:
                whens.append((col < local_midnight(day, period.tz), run_offset))
            whens.append((col < day_end, day.isoformat()))
            run_offset = None
            continue
        if run_offset is not None and run_offset != begin.utcoffset():
            whens.append((col < local_midnight(day, period.tz), run_offset))
        run_offset = begin.utcoffset()
    if run_offset is not None:
        whens.append((None, run_offset))

    def value(v):
        if isinstance(v, str):
            return cast(literal(v), String)
        return _shifted_date(col, int(v.total_seconds()), dialect)

    if len(whens) == 1:
        return value(whens[0][1])
    last = whens[-1]
    branches = [(cond, value(v)) for cond, v in whens if cond is not None]
    return case(*branches, else_=value(last[1]) if last[0] is None else None)


# --- queries -------------------------------------------------------------------------------


def _refunded():
    """Subquery ``(order_id, refunded_cents)``: succeeded refunds per order."""
    return (
        select(Refund.order_id, func.sum(Refund.amount_cents).label("refunded_cents"))
        .where(Refund.status == "succeeded")
        .group_by(Refund.order_id)
        .subquery()
    )


def _paid_in(period: Period):
    """Conditions: an order that was paid, placed within ``period``."""
    lo, hi = period.utc_bounds()
    return and_(Order.status.in_(PAID_STATUSES), Order.created_at >= lo, Order.created_at < hi)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def daily_sales(period: Period) -> list[dict]:
    """Per local day of ``period``: ``[{"day": date, "revenue_cents", "orders"}]``, every
    day present (zeros included), oldest first. Revenue as defined in the module docstring."""
    refunded = _refunded()
    # Grouped by the label: the CASE holds bound parameters, which PostgreSQL would not
    # recognise as the same expression in SELECT and GROUP BY.
    day = local_day(Order.created_at, period, _dialect()).label("local_day")
    rows = db.session.execute(
        select(
            day,
            func.count(Order.id),
            func.coalesce(func.sum(Order.total_cents - func.coalesce(refunded.c.refunded_cents, 0)), 0),
        )
        .select_from(Order)
        .outerjoin(refunded, refunded.c.order_id == Order.id)
        .where(_paid_in(period))
        .group_by(literal_column("local_day"))
    ).all()
    found = {str(d): (int(n), int(cents)) for d, n, cents in rows}
    return [
        {
            "day": d,
            "orders": found.get(d.isoformat(), (0, 0))[0],
            "revenue_cents": found.get(d.isoformat(), (0, 0))[1],
        }
        for d in period.dates()
    ]


def units_sold(period: Period) -> int:
    """Units on the lines of the orders revenue counts in ``period``."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(OrderLine.quantity), 0)).join(Order).where(_paid_in(period))
        )
    )


def _average(total: int, count: int) -> int:
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


def totals(period: Period, days: list[dict] | None = None) -> Totals:
    """Revenue, orders, average order value and units sold of ``period`` (``days`` is its
    :func:`daily_sales` when already known)."""
    days = daily_sales(period) if days is None else days
    revenue = sum(d["revenue_cents"] for d in days)
    orders = sum(d["orders"] for d in days)
    return Totals(revenue, orders, _average(revenue, orders), units_sold(period))


def top_products(period: Period, limit: int = TOP_N) -> list[dict]:
    """Best-selling products of ``period`` by line amount: ``[{"product_id", "sku", "name",
    "units", "revenue_cents"}]``, highest first (``product_id`` None for deleted products)."""
    amount = func.sum(OrderLine.unit_price_cents * OrderLine.quantity - OrderLine.discount_cents)
    rows = db.session.execute(
        select(
            OrderLine.product_id,
            func.min(OrderLine.sku),
            func.min(OrderLine.name),
            func.sum(OrderLine.quantity),
            amount.label("amount"),
        )
        .join(Order)
        .where(_paid_in(period))
        .group_by(OrderLine.product_id)
        .order_by(amount.desc(), func.min(OrderLine.sku))
        .limit(limit)
    ).all()
    return [
        {"product_id": pid, "sku": sku, "name": name, "units": int(units), "revenue_cents": int(cents)}
        for pid, sku, name, units, cents in rows
    ]


def top_categories(period: Period, limit: int = TOP_N) -> list[dict]:
    """Categories of ``period`` by line amount of their products: ``[{"category_id", "name",
    "units", "revenue_cents"}]``, highest first; ``category_id`` None gathers products
    without a category (or deleted), named "Uncategorized"."""
    amount = func.sum(OrderLine.unit_price_cents * OrderLine.quantity - OrderLine.discount_cents)
    rows = db.session.execute(
        select(Product.category_id, func.sum(OrderLine.quantity), amount.label("amount"))
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(Product, Product.id == OrderLine.product_id)
        .where(_paid_in(period))
        .group_by(Product.category_id)
        .order_by(amount.desc())
        .limit(limit)
    ).all()
    ids = [cid for cid, _, _ in rows if cid is not None]
    categories = (
        {c.id: c for c in db.session.scalars(select(Category).where(Category.id.in_(ids)))} if ids else {}
    )
    return [
        {
            "category_id": cid,
            "name": categories[cid].full_name if cid in categories else "Uncategorized",
            "units": int(units),
            "revenue_cents": int(cents),
        }
        for cid, units, cents in rows
    ]


def running_out(period: Period, within_days: int = RUNOUT_DAYS, limit: int = 20) -> list[dict]:
    """Active products expected to run out within ``within_days`` at the rate they sold in
    ``period`` (units sold / days of the period): ``[{"product_id", "sku", "name", "stock",
    "units", "per_day", "days_left"}]``, soonest first. ``days_left`` is ``stock / per_day``
    (a float; 0 for a product already out of stock that sold in the period)."""
    sold = func.sum(OrderLine.quantity).label("sold")
    rows = db.session.execute(
        select(Product.id, Product.sku, Product.name, Product.stock, sold)
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(_paid_in(period), Product.status == "active")
        .group_by(Product.id, Product.sku, Product.name, Product.stock)
        # stock / (sold / days) < within  <=>  stock * days < within * sold
        .having(Product.stock * period.days < within_days * sold)
    ).all()
    out = []
    for pid, sku, name, stock, units in rows:
        per_day = int(units) / period.days
        out.append(
            {
                "product_id": pid,
                "sku": sku,
                "name": name,
                "stock": int(stock),
                "units": int(units),
                "per_day": per_day,
                "days_left": int(stock) / per_day,
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
    counts = db.session.execute(
        select(*(func.coalesce(func.sum(case((cond, 1), else_=0)), 0) for cond in kinds.values()))
    ).one()
    lists = {
        key: list(
            db.session.scalars(select(Order).where(cond).order_by(Order.created_at, Order.id).limit(shown))
        )
        for key, cond in kinds.items()
    }
    return Waiting(
        to_ship=int(counts[0]),
        attention=int(counts[1]),
        stale_pending=int(counts[2]),
        oldest_to_ship=lists["to_ship"],
        needing_attention=lists["attention"],
        oldest_pending=lists["stale_pending"],
    )


@dataclass
class Dashboard:
    """Everything the sales part of the dashboard shows for one period."""

    period: Period
    previous: Period
    days: list[dict]
    current: Totals
    before: Totals
    changes: dict[str, float | None]
    products: list[dict]
    categories: list[dict]
    running_out: list[dict]
    waiting: Waiting


def sales_dashboard(period: Period, now: datetime | None = None) -> Dashboard:
    """All figures of the dashboard for ``period``, compared with the period before it."""
    previous = period.previous()
    days = daily_sales(period)
    current = totals(period, days)
    before = totals(previous)
    changes = {
        name: change(getattr(current, name), getattr(before, name))
        for name in ("revenue_cents", "orders", "average_order_cents", "units")
    }
    return Dashboard(
        period=period,
        previous=previous,
        days=days,
        current=current,
        before=before,
        changes=changes,
        products=top_products(period),
        categories=top_categories(period),
        running_out=running_out(period),
        waiting=waiting_orders(now),
    )
