"""Discount codes under contention, on PostgreSQL: many checkouts racing for a code's last
uses, one customer's checkouts racing past a per-customer limit, and many cancellations
racing to give one use back.

Each thread runs ``place_order`` (or ``cancel_order``) in its own app context, so with its
own session, database connection and transaction, and commits as a request would; a
barrier releases them together.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from shop.exceptions import Conflict, InvalidTransition
from shop.extensions import db as _db
from shop.orders import services
from shop.orders.checkout import place_order
from shop.orders.models import Cart, Order
from shop.pricing.models import DiscountRedemption
from tests import contention
from tests.factories import ADDRESS, make_product, make_user, stock_and_ledger
from tests.pricing_factories import guest_cart, make_code, times_used, user_cart

pytestmark = pytest.mark.postgres

SHOPPERS = 30
USES = 5


@pytest.fixture
def pg_app(app, app_factory, db):
    """A second app on the same PostgreSQL database with a pool big enough for every thread."""
    return contention.pg_app(
        app_factory, db, SHOPPERS, "SQLite lets one writer in at a time, so checkouts cannot race for a code"
    )


class Checkout:
    """One shopper's checkout of their cart with a code."""

    def __init__(self, cart_id: int, user_id: int | None, email: str, code: str):
        self.cart_id, self.user_id, self.email, self.code = cart_id, user_id, email, code

    def prepare(self):
        return _db.session.get(Cart, self.cart_id)

    def run(self, cart) -> int:
        result = place_order(
            cart=cart,
            user_id=self.user_id,
            email=self.email,
            shipping_address=ADDRESS,
            discount_code=self.code,
        )
        return result.order.id


class Cancel:
    """Staff cancelling an order."""

    def __init__(self, order_id: int, staff_id: int):
        self.order_id, self.staff_id = order_id, staff_id

    def prepare(self):
        return None

    def run(self, _prepared) -> int:
        return services.cancel_order(self.order_id, self.staff_id, staff=True).id


def _outcomes(results) -> Counter:
    return Counter(kind for kind, _ in results)


def test_thirty_checkouts_race_for_a_code_with_five_uses(pg_app, db):
    code = make_code("RACE5", value=1000, max_uses=USES)  # 10 % off, 5 uses
    staff = make_user(role="staff")
    shoppers, products, jobs = [], [], []
    for i in range(SHOPPERS):
        # each shopper buys a product of their own, so only the code is contended
        shopper = make_user(email=f"racer{i}@example.com")
        product = make_product(name=f"Item {i}", price_cents=2000, stock=3)
        cart = user_cart(shopper, (product, 1))
        shoppers.append(shopper)
        products.append(product)
        jobs.append(Checkout(cart.id, shopper.id, shopper.email, "race5"))
    db.session.commit()

    results = contention.race(pg_app, jobs)

    assert _outcomes(results) == {"done": USES, "refused": SHOPPERS - USES}, results
    for kind, exc in results:
        if kind == "refused":
            # refused at the calculator ("has been used up") or at the count ("has just been used up")
            assert type(exc) is Conflict and exc.status == 409
            assert "RACE5" in exc.detail and "used up" in exc.detail, exc.detail
            assert list(exc.errors) == ["discount_code"]
    winners = [i for i, (kind, _) in enumerate(results) if kind == "done"]
    db.session.expire_all()

    # exactly five orders, each carrying the discount: 10 % of 2000 = 200
    orders = db.session.scalars(select(Order).order_by(Order.id)).all()
    assert sorted(o.id for o in orders) == sorted(results[i][1] for i in winners)
    assert [(o.discount_code, o.discount_cents, o.total_cents) for o in orders] == [
        ("RACE5", 200, 1800)
    ] * USES
    assert {o.user_id for o in orders} == {shoppers[i].id for i in winners}
    assert times_used(code.id) == USES
    redemptions = db.session.scalars(select(DiscountRedemption)).all()
    assert sorted((r.order_id, r.user_id, r.amount_cents, r.released_at) for r in redemptions) == sorted(
        (o.id, o.user_id, 200, None) for o in orders
    )
    # stock: one unit from each winner's product, none from anyone else's
    for i, product in enumerate(products):
        assert stock_and_ledger(product.id) == ((2, 2) if i in winners else (3, 3)), i
    assert sum(3 - stock_and_ledger(p.id)[0] for p in products) == USES

    # five staff cancel the same discounted order at once: one does, the use comes back once
    victim = orders[0]
    cancels = contention.race(pg_app, [Cancel(victim.id, staff.id) for _ in range(5)])

    assert _outcomes(cancels) == {"done": 1, "refused": 4}, cancels
    assert all(type(exc) is InvalidTransition for kind, exc in cancels if kind == "refused")
    db.session.expire_all()
    assert times_used(code.id) == USES - 1
    released = db.session.scalars(
        select(DiscountRedemption.order_id).where(DiscountRedemption.released_at.is_not(None))
    ).all()
    assert released == [victim.id]
    assert db.session.get(Order, victim.id).status == "cancelled"
    victim_product = products[shoppers.index(next(s for s in shoppers if s.id == victim.user_id))]
    assert stock_and_ledger(victim_product.id) == (3, 3)


def test_one_guests_parallel_checkouts_get_a_once_per_customer_code_once(pg_app, db):
    code = make_code("ONCE", value=1000, max_uses_per_customer=1)  # no overall limit
    jobs, products = [], []
    # five guest carts, one e-mail address written five ways
    for i, email in enumerate(
        [
            "racer@example.com",
            "Racer@Example.com",
            "RACER@EXAMPLE.COM",
            " racer@example.com ",
            "racer@EXAMPLE.com",
        ]
    ):
        product = make_product(name=f"Gift {i}", price_cents=3000, stock=2)
        cart = guest_cart((product, 1))
        products.append(product)
        jobs.append(Checkout(cart.id, None, email, "ONCE"))
    db.session.commit()

    results = contention.race(pg_app, jobs)

    assert _outcomes(results) == {"done": 1, "refused": 4}, results
    for kind, exc in results:
        if kind == "refused":
            assert type(exc) is Conflict
            assert "You have already used the code ONCE" in exc.detail, exc.detail
    db.session.expire_all()
    orders = db.session.scalars(select(Order)).all()
    # 10 % of 3000 = 300
    assert [(o.email, o.discount_code, o.discount_cents, o.total_cents) for o in orders] == [
        ("racer@example.com", "ONCE", 300, 2700)
    ]
    assert times_used(code.id) == 1
    assert [(r.order_id, r.user_id, r.email) for r in db.session.scalars(select(DiscountRedemption))] == [
        (orders[0].id, None, "racer@example.com")
    ]
    assert sum(2 - stock_and_ledger(p.id)[0] for p in products) == 1
