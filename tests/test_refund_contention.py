"""Refunds under contention, on PostgreSQL: many staff refunding the same order at once,
each for more than half of what was paid. The order's row lock lets exactly one through;
the others see its refund and are refused (409), so the refunds never pass what was paid.

Each thread runs ``refund_order`` in its own app context (its own session, connection and
transaction) and commits as a request would; a barrier releases them together.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from shop.catalog.models import StockMovement
from shop.exceptions import Conflict
from shop.orders.models import Order
from shop.payments import refunds
from shop.payments.models import Refund
from tests import contention
from tests.factories import make_product, make_user, stock_and_ledger
from tests.refund_factories import make_card_payment, make_paid_order

pytestmark = pytest.mark.postgres

MOST = 10


@pytest.fixture
def pg_app(app, app_factory, db):
    """A second app on the same PostgreSQL database with a pool big enough for every thread."""
    return contention.pg_app(
        app_factory, db, MOST, "SQLite lets one writer in at a time, so refunds cannot race"
    )


@pytest.mark.parametrize("staff_count", [2, MOST])
@pytest.mark.parametrize("provider", ["manual", "card"])
def test_staff_refunding_one_order_at_once_never_pass_what_was_paid(pg_app, db, staff_count, provider):
    product = make_product(stock=20)
    staff = [make_user(role="staff") for _ in range(staff_count)]
    # 4 × $25.00, nothing off, no tax: $100.00 paid
    order = make_paid_order([(product, 2500, 4, 0, 0)], provider=provider)
    if provider == "card":
        make_card_payment(order, "pi_race")
    db.session.commit()
    line_id = order.lines[0].id
    order_id = order.id

    # each staff member refunds 3 of the 4 units ($75.00, more than half) and restocks them
    def job(actor_id):
        return lambda: (
            refunds.refund_order(
                order_id, lines=[(line_id, 3)], restock=True, actor_id=actor_id, reason="race"
            ).id
        )

    results = contention.race(pg_app, [job(s.id) for s in staff])

    assert Counter(kind for kind, _ in results) == {"done": 1, "refused": staff_count - 1}, results
    for kind, exc in results:
        if kind == "refused":
            assert type(exc) is Conflict and exc.status == 409
            assert "only 1 of 4 left to refund" in exc.detail, exc.detail
    db.session.expire_all()
    rows = db.session.execute(select(Refund.amount_cents, Refund.status)).all()
    assert rows == [(7500, "pending" if provider == "card" else "succeeded")]
    counted = db.session.scalar(
        select(func.sum(Refund.amount_cents)).where(Refund.status.in_(("pending", "succeeded")))
    )
    assert counted <= 10000
    if provider == "manual":
        assert db.session.get(Order, order_id).status == "partially_refunded"
        assert stock_and_ledger(product.id) == (23, 23)
        assert db.session.scalar(select(func.count()).where(StockMovement.reason == "refund")) == 1
    else:
        assert db.session.get(Order, order_id).status == "paid"
        assert stock_and_ledger(product.id) == (20, 20)


@pytest.mark.parametrize("staff_count", [2, MOST])
def test_amounts_alone_racing_for_one_order_pass_it_only_once(pg_app, db, staff_count):
    product = make_product(stock=5)
    order = make_paid_order([(product, 10000, 1, 0, 0)])  # $100.00 paid
    db.session.commit()
    order_id = order.id
    results = contention.race(
        pg_app,
        [
            lambda: (
                refunds.refund_order(order_id, lines=None, extra_cents=6000, restock=False, actor_id=None).id
            )
            for _ in range(staff_count)
        ],
    )
    assert Counter(kind for kind, _ in results) == {"done": 1, "refused": staff_count - 1}, results
    for kind, exc in results:
        if kind == "refused":
            assert "at most $40.00 is left to refund" in exc.detail, exc.detail
    db.session.expire_all()
    assert db.session.scalar(select(func.sum(Refund.amount_cents))) == 6000
    assert db.session.get(Order, order_id).status == "partially_refunded"
