"""Which days' sales figures changed: a generation number per local day, raised in the same
transaction as the change, so cached figures of finished days (:mod:`shop.admin.sales_cache`)
are known to be stale the moment the change commits, in every process.

A day's figures (:mod:`shop.admin.sales`) change only when one of its orders enters or leaves
the paid statuses (:data:`PAID_STATUSES`: a late payment, a cancellation
after payment), or when a refund of one of its orders is created or changes status. Moves between
paid statuses (paid → shipped → delivered) change no figure and raise nothing, and neither
does any change to an order of a day still open (:func:`first_open_day`): those figures are
never cached.

How changes are found:

- ORM changes (new orders and refunds, an order's ``status`` or ``total_cents`` set on the
  object, a refund's ``status``) by an ``after_flush`` hook;
- Core ``UPDATE`` statements (the conditional status moves in :mod:`shop.orders.services`
  and :mod:`shop.payments.refunds`) by an explicit :func:`touch_orders` call beside them.

Before the commit, the touched orders' local days (in ``SHOP_TIMEZONE``) get their
generation raised by one (an upsert on both SQLite and PostgreSQL). Why a generation and not
a delete of the cached figures: a reader computing figures from an older snapshot could
store them after the change committed; it stores the generations it read *before* its
queries, so such figures never match again (:mod:`shop.admin.sales_cache`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import Date, Integer, String, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from shop.extensions import db
from shop.orders.models import Order
from shop.payments.models import Refund

#: Statuses of orders that were paid: the orders the sales figures count.
PAID_STATUSES = ("paid", "shipped", "delivered", "partially_refunded", "refunded")
COUNTED = frozenset(PAID_STATUSES)
_TOUCHED = "sales_touched_orders"
#: How long after local midnight a day still counts as open: longer than any transaction
#: placing an order lasts, so an order stamped before midnight but committed after it is in
#: the day's figures before they can be cached. Open days are never cached, so changes to
#: them raise no generation (and checkouts never contend for a generation row).
GRACE = timedelta(minutes=10)


class SalesDayMark(db.Model):
    """``generation`` of local day ``day`` in time zone ``tz``: raised by one in the
    transaction of every change to that day's figures. A day never touched has no row
    (generation 0)."""

    __tablename__ = "sales_day_marks"

    tz: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


def touch_orders(session: Session, order_ids: Iterable[int]) -> None:
    """Note that the figures of these orders' days change in this transaction (for changes
    made with Core statements, which the flush hook cannot see). Raised before the commit."""
    session.info.setdefault(_TOUCHED, set()).update(i for i in order_ids if i is not None)


def crosses_paid(from_status: str | None, to_status: str | None) -> bool:
    """True when a status move makes an order count or stop counting in the figures."""
    return (from_status in COUNTED) != (to_status in COUNTED)


def generations(tz: str, start: date, end: date) -> dict[date, int]:
    """``{day: generation}`` of the touched days from ``start`` to ``end`` (both included)."""
    rows = db.session.execute(
        select(SalesDayMark.day, SalesDayMark.generation).where(
            SalesDayMark.tz == tz, SalesDayMark.day >= start, SalesDayMark.day <= end
        )
    )
    return {day: generation for day, generation in rows}


def first_open_day(tz: ZoneInfo, now: datetime | None = None) -> date:
    """The first local day whose figures may still be changing on their own (orders being
    placed): today, or yesterday during the first :data:`GRACE` after midnight. Days before
    it are *finished*: only a change that raises their generation changes their figures."""
    now = now or datetime.now(timezone.utc)
    return (now - GRACE).astimezone(tz).date()


def _local_day(created_at: datetime, tz: ZoneInfo) -> date:
    return created_at.astimezone(tz).date()


def _after_flush(session: Session, flush_context) -> None:
    touched = set()
    for obj in session.new:
        if isinstance(obj, Order):
            if obj.status in COUNTED:
                touched.add(obj.id)
        elif isinstance(obj, Refund):
            touched.add(obj.order_id)
    for obj in session.dirty:
        if isinstance(obj, Order):
            status = db.inspect(obj).attrs.status.history
            total = db.inspect(obj).attrs.total_cents.history
            before = status.deleted[0] if status.deleted else None
            after = status.added[0] if status.added else obj.status
            if (status.has_changes() and crosses_paid(before, after)) or total.has_changes():
                touched.add(obj.id)
        elif isinstance(obj, Refund) and db.inspect(obj).attrs.status.history.has_changes():
            touched.add(obj.order_id)
    if touched:
        touch_orders(session, touched)


def _before_commit(session: Session) -> None:
    """Raise the generation of every touched order's local day (same transaction)."""
    if not has_app_context():
        session.info.pop(_TOUCHED, None)
        return
    session.flush()  # the commit flushes only after this hook: find what it would write now
    done: set[int] = set()
    while True:  # the queries below may flush, and a flush may touch more orders
        ids = session.info.get(_TOUCHED, set()) - done
        if not ids:
            break
        done |= ids
        tz_name = current_app.config.get("SHOP_TIMEZONE", "UTC")
        tz = ZoneInfo(tz_name)
        created = session.scalars(select(Order.created_at).where(Order.id.in_(sorted(ids)))).all()
        open_from = first_open_day(tz)
        days = sorted({d for c in created if c is not None and (d := _local_day(c, tz)) < open_from})
        if days:
            _raise(session, tz_name, days)
    session.info.pop(_TOUCHED, None)


def _raise(session: Session, tz: str, days: list[date]) -> None:
    """``generation += 1`` for each of ``days`` (rows created at 1)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(SalesDayMark).values([{"tz": tz, "day": d, "generation": 1} for d in days])
    stmt = stmt.on_conflict_do_update(
        index_elements=["tz", "day"], set_={"generation": SalesDayMark.generation + 1}
    )
    session.execute(stmt)


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    """Forget the touched orders when the whole transaction rolled back (a savepoint's
    rollback keeps them: raising a generation too many only costs a recomputation)."""
    if previous_transaction.parent is None:
        session.info.pop(_TOUCHED, None)


def register_sales_marks() -> None:
    """Install the session hooks once per process."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
