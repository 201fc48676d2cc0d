"""Concurrency proofs on PostgreSQL: many checkouts racing for a few units, many cancels
racing for one order, and the same Idempotency-Key sent twice at once.

Each thread talks to the real API through its own test client, so every request runs in
its own app context with its own database connection and transaction.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from shop.auth import services as auth_services
from shop.catalog.models import Product, StockMovement
from shop.orders import cart as carts
from shop.orders.models import Order
from tests.factories import make_product, make_user

pytestmark = pytest.mark.postgres

ADDRESS = {
    "name": "Race Tester",
    "line1": "1 Parallel St",
    "city": "Threadville",
    "region": "NY",
    "postal_code": "12345",
    "country": "US",
}
THREADS = 50


@pytest.fixture
def pg_app(app, app_factory, db):
    """A second app on the same PostgreSQL database with a pool big enough for every thread."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serializes all writers, so it cannot show row-level races")
    return app_factory(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 10, "max_overflow": THREADS, "pool_timeout": 60}
    )


def _fire(pg_app, requests: list) -> list:
    """Run ``(method, path, kwargs)`` requests at once, one thread each; return the responses."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(i, method, path, kwargs):
        client = pg_app.test_client()
        barrier.wait()
        try:
            results[i] = getattr(client, method)(path, **kwargs)
        except Exception as exc:  # noqa: BLE001 - surfaced as a failure below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, *req)) for i, req in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    return results


def _ledger(db, product_id: int) -> tuple[int, int]:
    db.session.expire_all()
    stock = db.session.scalar(select(Product.stock).where(Product.id == product_id))
    ledger = db.session.scalar(
        select(func.coalesce(func.sum(StockMovement.delta), 0)).where(StockMovement.product_id == product_id)
    )
    return stock, int(ledger)


def test_fifty_concurrent_checkouts_for_five_units(pg_app, db):
    product = make_product(name="Hot item", stock=5)
    other = make_product(name="Side item", stock=1000)
    headers = []
    for i in range(THREADS):
        user = make_user(email=f"racer{i}@example.com")
        # Half the carts hold two products, so locks are taken on several rows in a fixed order.
        carts.add_item(carts.get_user_cart(user.id, create=True), product.sku, 1)
        if i % 2:
            carts.add_item(carts.get_user_cart(user.id, create=True), other.sku, 1)
        _token, secret = auth_services.create_api_token(user)
        headers.append({"Authorization": f"Bearer {secret}"})
    db.session.commit()

    responses = _fire(
        pg_app,
        [("post", "/api/v1/orders", {"json": {"shipping_address": ADDRESS}, "headers": h}) for h in headers],
    )
    codes = Counter(r.status_code for r in responses)
    assert codes == {201: 5, 409: THREADS - 5}, codes
    for r in responses:
        if r.status_code == 409:
            assert r.get_json()["title"] == "Out of stock" and "Hot item" in r.get_json()["detail"]

    db.session.expire_all()
    assert db.session.scalar(select(func.count(Order.id))) == 5
    assert _ledger(db, product.id) == (0, 0)  # 5 imported, 5 sold
    sold_side = sum(1 for i, r in enumerate(responses) if r.status_code == 201 and i % 2)
    assert _ledger(db, other.id) == (1000 - sold_side, 1000 - sold_side)
    placed = db.session.scalars(select(Order.number)).all()
    assert sorted(placed) == sorted(r.get_json()["data"]["number"] for r in responses if r.status_code == 201)


def test_concurrent_cancels_return_stock_once(pg_app, db):
    shopper, staff = make_user(), make_user(role="staff")
    product = make_product(stock=5)
    carts.add_item(carts.get_user_cart(shopper.id, create=True), product.sku, 3)
    from shop.orders.checkout import place_order

    order = place_order(
        cart=carts.get_user_cart(shopper.id),
        user_id=shopper.id,
        email=shopper.email,
        shipping_address=ADDRESS,
    ).order
    secrets_ = [auth_services.create_api_token(u)[1] for u in (shopper, staff)]
    db.session.commit()
    number = order.number
    assert _ledger(db, product.id) == (2, 2)

    requests = [
        (
            "post",
            f"/api/v1/orders/{number}/cancel",
            {"headers": {"Authorization": f"Bearer {secrets_[i % 2]}"}},
        )
        for i in range(20)
    ]
    responses = _fire(pg_app, requests)
    codes = Counter(r.status_code for r in responses)
    assert codes == {200: 1, 409: 19}, codes
    assert _ledger(db, product.id) == (5, 5)
    releases = db.session.scalar(
        select(func.count(StockMovement.id)).where(
            StockMovement.order_id == order.id, StockMovement.reason == "cancellation"
        )
    )
    assert releases == 1


def test_same_idempotency_key_sent_concurrently_places_one_order(pg_app, db):
    user = make_user()
    product = make_product(stock=10)
    carts.add_item(carts.get_user_cart(user.id, create=True), product.sku, 2)
    _token, secret = auth_services.create_api_token(user)
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "double-click"}
    responses = _fire(
        pg_app, [("post", "/api/v1/orders", {"json": {"shipping_address": ADDRESS}, "headers": headers})] * 8
    )
    assert {r.status_code for r in responses} == {201}, [r.get_json() for r in responses]
    assert len({r.get_json()["data"]["number"] for r in responses}) == 1
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Order.id))) == 1
    assert _ledger(db, product.id) == (8, 8)
