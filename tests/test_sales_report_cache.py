"""The dashboard caches the sales figures of finished days and never shows stale ones:
every change to a finished day's figures (a cancellation after payment, a late payment, a
refund created or settled) raises that day's generation in the change's transaction, and
the next report recomputes. Runs on both databases, with the suite's cache (Redis in CI).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from shop.admin import sales_report
from shop.admin.sales import PAID_STATUSES, Period
from shop.extensions import db as _db
from shop.orders import services
from shop.orders.models import Order
from shop.orders.sales_marks import COUNTED, GRACE, SalesDayMark, first_open_day, generations
from shop.payments import refunds
from shop.payments.models import Refund
from tests.factories import make_product
from tests.refund_factories import make_paid_order
from tests.statements import QueryCounter

UTC = ZoneInfo("UTC")
WEEK = Period(date(2026, 2, 8), date(2026, 2, 14), UTC)


def order(when: datetime, lines, status: str = "paid"):
    o = make_paid_order(lines, status=status)
    o.created_at = when
    _db.session.flush()
    return o


@pytest.fixture
def week(db):
    """Three paid orders and one waiting for payment in the week of 2026-02-08 (UTC)."""
    p = make_product(price_cents=1000, stock=100)
    orders = {
        "a": order(datetime(2026, 2, 9, 10, tzinfo=timezone.utc), [(p, 1000, 2, 0, 0)]),
        "b": order(datetime(2026, 2, 10, 10, tzinfo=timezone.utc), [(p, 1000, 3, 0, 0)]),
        "c": order(datetime(2026, 2, 11, 10, tzinfo=timezone.utc), [(p, 1000, 1, 0, 0)], status="shipped"),
        "waiting": order(
            datetime(2026, 2, 12, 10, tzinfo=timezone.utc), [(p, 1000, 4, 0, 0)], status="pending_payment"
        ),
    }
    db.session.commit()
    return p, orders


def revenue(period: Period = WEEK) -> tuple[int, int, int]:
    """``(revenue cents, orders, units)`` as the dashboard reports them now."""
    totals = sales_report.sales_dashboard(period).current
    return totals.revenue_cents, totals.orders, totals.units


def test_the_marks_count_the_same_statuses_as_the_figures():
    assert COUNTED == set(PAID_STATUSES)


def test_a_finished_period_is_read_from_the_cache_the_second_time(week, db):
    assert revenue() == (6000, 3, 6)
    with QueryCounter(db.engine) as counter:
        assert revenue() == (6000, 3, 6)
    text = " ".join(counter.statements).lower()
    # Read again: the generations and the products, no sum over orders or lines.
    assert "sales_day_marks" in text
    assert "sum(" not in text, counter.statements


def test_a_paid_order_cancelled_later_leaves_its_days_figures_at_once(week, db):
    _, orders = week
    assert revenue() == (6000, 3, 6)
    before = generations("UTC", WEEK.start, WEEK.end)
    services.cancel_order(orders["b"].id, actor_id=None, note="customer called", staff=True)
    db.session.commit()
    assert revenue() == (3000, 2, 3)
    after = generations("UTC", WEEK.start, WEEK.end)
    assert {day for day in after if after[day] != before.get(day, 0)} == {date(2026, 2, 10)}
    assert after[date(2026, 2, 10)] == before.get(date(2026, 2, 10), 0) + 1


def test_a_late_payment_enters_its_days_figures(week, db):
    _, orders = week
    assert revenue() == (6000, 3, 6)
    services.transition_order(orders["waiting"].id, "paid", actor_id=None)
    db.session.commit()
    assert revenue() == (10000, 4, 10)


def test_a_refund_created_and_one_settled_later_are_taken_off_at_once(week, db):
    _, orders = week
    assert revenue() == (6000, 3, 6)
    db.session.add(Refund(order_id=orders["a"].id, amount_cents=500, currency="USD", status="succeeded"))
    db.session.commit()
    assert revenue() == (5500, 3, 6)

    pending = Refund(
        order_id=orders["c"].id, amount_cents=300, currency="USD", status="pending", provider_reference="re_1"
    )
    db.session.add(pending)
    db.session.commit()
    assert revenue() == (5500, 3, 6)  # a pending refund does not count
    outcome = refunds.settle_provider_refund("re_1", "succeeded")
    db.session.commit()
    assert outcome == f"refund {pending.id} settled"
    assert revenue() == (5200, 3, 6)


def test_moves_between_paid_statuses_raise_no_generation(week, db):
    _, orders = week
    revenue()
    before = generations("UTC", WEEK.start, WEEK.end)
    services.transition_order(
        orders["a"].id, "shipped", actor_id=None, shipment=services.Shipment("UPS", "1Z999")
    )
    db.session.commit()
    assert generations("UTC", WEEK.start, WEEK.end) == before


def test_today_is_never_cached_and_raises_no_generation(db):
    """Orders of an open day are counted live; placing or paying them writes no mark (so
    checkouts never queue on a generation row)."""
    p = make_product(price_cents=1000, stock=100)
    now = datetime.now(timezone.utc)
    today = first_open_day(UTC, now)
    # To the calendar day of now: in the grace after midnight the first open day is
    # yesterday, and an order placed now is on the day after it.
    period = Period(today - timedelta(days=6), now.date(), UTC)
    order(
        datetime.combine(today - timedelta(days=1), datetime.min.time(), timezone.utc), [(p, 1000, 1, 0, 0)]
    )
    db.session.commit()
    assert revenue(period)[:2] == (1000, 1)

    fresh = order(now, [(p, 1000, 2, 0, 0)], status="pending_payment")
    db.session.commit()
    services.transition_order(fresh.id, "paid", actor_id=None)
    db.session.commit()
    assert revenue(period)[:2] == (3000, 2)
    assert db.session.scalar(select(SalesDayMark).where(SalesDayMark.day >= today)) is None


def test_an_order_stamped_before_midnight_counts_once_the_grace_is_over(db):
    """Within :data:`GRACE` after midnight yesterday is still open (an order stamped at
    23:59:59 may commit after midnight); after it, yesterday is finished."""
    midnight = datetime(2026, 3, 2, tzinfo=timezone.utc)
    assert first_open_day(UTC, midnight + GRACE / 2) == date(2026, 3, 1)
    assert first_open_day(UTC, midnight + GRACE) == date(2026, 3, 2)


def test_a_change_that_bypasses_the_marks_is_not_seen_until_the_entry_expires(week, db, app):
    """The cache really serves finished days: a row written behind the shop's back (raw
    SQL, no mark) is not in the figures until the entry is gone."""
    p, _ = week
    assert revenue() == (6000, 3, 6)
    template = db.session.scalar(select(Order).limit(1))
    db.session.execute(
        insert(Order).values(
            number="BYPASS-1",
            email="x@example.com",
            status="paid",
            currency="USD",
            subtotal_cents=9900,
            shipping_cents=0,
            discount_cents=0,
            tax_cents=0,
            total_cents=9900,
            prices_include_tax=False,
            shipping_address=template.shipping_address,
            created_at=datetime(2026, 2, 13, 10, tzinfo=timezone.utc),
            updated_at=datetime(2026, 2, 13, 10, tzinfo=timezone.utc),
        )
    )
    db.session.commit()
    assert revenue() == (6000, 3, 6)
    from shop.extensions import cache

    cache.clear()
    assert revenue() == (15900, 4, 6)


def test_figures_are_computed_when_the_cache_fails(week, db, monkeypatch):
    class Down:
        """A cache that refuses every call (only the report's: the rest of the app keeps its own)."""

        def get(self, *args, **kwargs):
            raise ConnectionError("cache down")

        set = get

    monkeypatch.setattr(sales_report, "cache", Down())
    assert revenue() == (6000, 3, 6)
    _, orders = week
    services.cancel_order(orders["a"].id, actor_id=None, staff=True)
    db.session.commit()
    assert revenue() == (4000, 2, 4)


def test_a_period_reaching_today_adds_todays_orders_to_the_cached_days(db):
    p = make_product(price_cents=1000, stock=100)
    now = datetime.now(timezone.utc)
    today = first_open_day(UTC, now)
    # To the calendar day of now (see test_today_is_never_cached_and_raises_no_generation).
    period = Period(today - timedelta(days=29), now.date(), UTC)
    order(
        datetime.combine(today - timedelta(days=3), datetime.min.time(), timezone.utc), [(p, 1000, 1, 0, 0)]
    )
    db.session.commit()
    first = sales_report.sales_dashboard(period)
    assert (first.current.revenue_cents, first.current.units) == (1000, 1)
    order(now, [(p, 1000, 5, 0, 0)])
    db.session.commit()
    second = sales_report.sales_dashboard(period)
    assert (second.current.revenue_cents, second.current.units) == (6000, 6)
    assert second.days[-1]["day"] == now.date() and second.days[-1]["revenue_cents"] == 5000
    assert [p["units"] for p in second.products] == [6]
