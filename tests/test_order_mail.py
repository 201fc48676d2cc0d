"""Telling the truth about orders: once an order is committed the answer says so (201 or the
confirmation page), whatever fails afterwards, and its confirmation mail goes out exactly
once through the outbox, even when the job that should send it is lost."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from shop import mail
from shop.orders import cart as carts
from shop.orders.models import Order
from shop.orders.notifications import ORDER_CONFIRMATION, queue_order_confirmation
from tests.factories import bearer_headers, make_product, make_user
from tests.jobhelpers import DatabaseStopsAfterCommit, hand_overs_lost, rows, sweep_later
from tests.test_checkout_flows import ADDRESS, _checkout_form

BODY = {"shipping_address": ADDRESS, "payment_provider": "manual"}


@pytest.fixture(autouse=True)
def _empty_outbox():
    mail.clear_outbox()
    yield
    mail.clear_outbox()


def _api_shopper(db):
    """A customer with a bearer token and one keyboard (49.99) in the cart."""
    user = make_user()
    kb = make_product(name="Keyboard", price_cents=4999, stock=5)
    db.session.commit()
    headers = bearer_headers(user)
    carts.add_item(carts.get_user_cart(user.id, create=True), kb.sku, 1)
    db.session.commit()
    return user, kb, headers


def _orders(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Order.id)))


def test_api_answers_201_with_the_order_when_the_database_stops_right_after_the_commit(client, db):
    user, kb, headers = _api_shopper(db)
    headers["Idempotency-Key"] = "outage-after-commit"
    with DatabaseStopsAfterCommit(db.engine, Order) as outage:
        resp = client.post("/api/v1/orders", json=BODY, headers=headers)
        assert outage.down  # the database did stop, right after the order's commit
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()["data"]
    assert (data["status"], data["total_cents"], data["currency"]) == ("pending_payment", 4999, "USD")
    assert [line["sku"] for line in data["lines"]] == [kb.sku]
    assert resp.headers["Location"].endswith(f"/api/v1/orders/{data['number']}")
    assert db.session.scalar(select(Order.number)) == data["number"]
    # The confirmation's job met the outage: the row waits, nothing was sent.
    [row] = rows(ORDER_CONFIRMATION)
    assert (row.status, row.recipient) == ("pending", user.email) and mail.outbox() == []

    # The client retries with its key: the same order again, no second order, no second mail.
    again = client.post("/api/v1/orders", json=BODY, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["data"]["number"] == data["number"]
    assert _orders(db) == 1 and len(rows(ORDER_CONFIRMATION)) == 1 and mail.outbox() == []

    # The sweep sends the mail that was never sent, once.
    assert sweep_later() == 1
    [msg] = mail.outbox()
    assert msg["To"] == user.email and data["number"] in msg["Subject"]
    assert "1 x Keyboard" in msg.get_content()
    assert sweep_later() == 0 and len(mail.outbox()) == 1


def test_checkout_page_redirects_to_the_order_when_the_database_stops_right_after_the_commit(
    client, auth, db
):
    user = make_user()
    kb = make_product(name="Keyboard", stock=5)
    db.session.commit()
    auth.login(user.email)
    client.post("/cart/add", data={"sku": kb.sku, "quantity": "1"})
    form = _checkout_form(client)
    with DatabaseStopsAfterCommit(db.engine, Order) as outage:
        resp = client.post("/checkout", data=form)
        assert outage.down
    number = db.session.scalar(select(Order.number))
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/orders/{number}/thanks")
    assert number in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert [r.status for r in rows(ORDER_CONFIRMATION)] == ["pending"] and mail.outbox() == []
    assert sweep_later() == 1 and len(mail.outbox()) == 1


def test_confirmation_is_written_with_the_order_and_only_once_per_order(client, db):
    user, _kb, headers = _api_shopper(db)
    with hand_overs_lost():  # the process died right after the commit
        resp = client.post("/api/v1/orders", json=BODY, headers=headers)
    assert resp.status_code == 201
    [row] = rows(ORDER_CONFIRMATION)
    order = db.session.scalar(select(Order))
    assert row.key == f"order_confirmation:{order.id}" and row.payload["order_id"] == order.id
    assert row.payload["order_url"] == f"http://localhost/orders/{order.number}"
    with pytest.raises(IntegrityError):
        queue_order_confirmation(order, "http://localhost/elsewhere")
    db.session.rollback()
    assert sweep_later() == 1 and sweep_later() == 0
    [msg] = mail.outbox()
    assert f"http://localhost/orders/{order.number}" in msg.get_content()


def test_a_refused_order_writes_no_mail(client, db):
    user = make_user()
    kb = make_product(stock=1)
    db.session.commit()
    carts.add_item(carts.get_user_cart(user.id, create=True), kb.sku, 1)
    db.session.commit()
    kb.stock = 0  # sold elsewhere meanwhile
    db.session.commit()
    resp = client.post("/api/v1/orders", json=BODY, headers=bearer_headers(user))
    assert resp.status_code == 409
    assert rows(ORDER_CONFIRMATION) == [] and mail.outbox() == []
