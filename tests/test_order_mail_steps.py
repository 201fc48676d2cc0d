"""The customer hears of every step of an order by mail: placed, paid, shipped (with carrier
and tracking number) and cancelled. Each mail has an HTML and a plain-text part, links a
customer to the order page and a guest to the look-up with the number filled in, is written
with its transition and goes out once, however often the request or the delivery is retried."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from shop import mail
from shop.jobs import outbox
from shop.orders import cart as carts
from shop.orders import services
from shop.orders.models import Order
from shop.orders.notifications import ORDER_CONFIRMATION, ORDER_STATUS
from tests.factories import bearer_headers, make_product, make_user, page_text, sign_in
from tests.jobhelpers import hand_overs_lost, rows, sweep_later
from tests.test_checkout_flows import ADDRESS, _checkout_form

BODY = {"shipping_address": ADDRESS, "payment_provider": "manual"}
SHIP = {"to": "shipped", "carrier": "UPS", "tracking_number": "1Z999AA10123456784"}


@pytest.fixture(autouse=True)
def _empty_outbox():
    mail.clear_outbox()
    yield
    mail.clear_outbox()


@pytest.fixture
def staff(db):
    """A staff member's bearer headers."""
    user = make_user(email="staff@example.com", role="staff")
    db.session.commit()
    return bearer_headers(user)


def _customer_order(client, db) -> tuple[Order, dict]:
    """A customer's order of one keyboard placed through the API; its confirmation is sent."""
    user = make_user(email="ada@example.com")
    kb = make_product(name="Keyboard", price_cents=4999, stock=5)
    db.session.commit()
    headers = bearer_headers(user)
    carts.add_item(carts.get_user_cart(user.id, create=True), kb.sku, 1)
    db.session.commit()
    resp = client.post("/api/v1/orders", json=BODY, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    return db.session.scalar(select(Order)), headers


def _guest_order(client, db) -> Order:
    """A guest's order of two keyboards placed on the checkout page."""
    kb = make_product(name="Guest keyboard", price_cents=3000, stock=5)
    db.session.commit()
    client.post("/cart/add", data={"sku": kb.sku, "quantity": "2"})
    resp = client.post("/checkout", data=dict(_checkout_form(client), email="guest@example.com"))
    assert resp.status_code == 303
    return db.session.scalar(select(Order))


def _field_value(page, name: str) -> str:
    """The value an input of the page's form is filled with."""
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', page.get_data(as_text=True))
    value = re.search(r'value="([^"]*)"', found.group(0))
    return value.group(1) if value else ""


def _move(client, staff, number, **body):
    return client.post(f"/api/v1/orders/{number}/transitions", json=body, headers=staff)


def test_a_customer_gets_a_mail_at_each_step_with_html_and_text_and_the_order_page_link(client, db, staff):
    order, _headers = _customer_order(client, db)
    number, link = order.number, f"http://localhost/orders/{order.number}"
    assert _move(client, staff, number, to="paid").status_code == 200
    assert _move(client, staff, number, **SHIP).status_code == 200
    assert _move(client, staff, number, to="delivered").status_code == 200  # no mail for this one

    placed, paid, shipped = mail.outbox()
    subjects = [m["Subject"] for m in (placed, paid, shipped)]
    assert subjects == [
        f"shop: order {number} received, waiting for payment",
        f"shop: order {number} payment received",
        f"shop: order {number} on its way",
    ]
    for msg in (placed, paid, shipped):
        assert msg["To"] == "ada@example.com" and msg.get_content_type() == "multipart/alternative"
        assert link in msg.text and f'href="{link}"' in msg.html
        assert "lookup" not in msg.text and number in msg.text and number in msg.html
        assert msg.html.lstrip().lower().startswith("<!doctype html>")
    assert "1 x Keyboard" in placed.text and "Total: $49.99" in placed.text
    assert "1 × Keyboard" in placed.html and "$49.99" in placed.html
    assert "We received your payment." in paid.text and "$49.99" in paid.text
    assert "Carrier: UPS\nTracking number: 1Z999AA10123456784\n" in shipped.text
    assert "UPS" in shipped.html and "1Z999AA10123456784" in shipped.html
    assert [r.key for r in rows(ORDER_STATUS)] == [f"order:{order.id}:paid", f"order:{order.id}:shipped"]
    assert {r.status for r in rows()} == {"sent"}


def test_a_guest_is_linked_to_the_look_up_with_the_number_filled_in(app, client, db, staff):
    order = _guest_order(client, db)
    number = order.number
    lookup = f"http://localhost/orders/lookup?number={number}"
    staff_client = app.test_client()
    sign_in(staff_client, make_user(email="boss@example.com", role="staff"))
    resp = staff_client.post(f"/admin/orders/{number}/status", data={"to_status": "cancelled", "note": ""})
    assert resp.status_code == 303

    placed, cancelled = mail.outbox()
    assert placed["Subject"] == f"shop: order {number} received, waiting for payment"
    assert cancelled["Subject"] == f"shop: order {number} cancelled"
    for msg in (placed, cancelled):
        assert msg["To"] == "guest@example.com"
        assert lookup in msg.text and f'href="{lookup}"' in msg.html
        assert f"/orders/{number}\n" not in msg.text and "e-mail address you ordered with" in msg.text
    assert "2 x Guest keyboard" in placed.text and "Your order was cancelled." in cancelled.text

    # The link works for someone who never saw the shop: the number is there, the e-mail is asked.
    browser = app.test_client()
    page = browser.get(lookup.removeprefix("http://localhost"))
    assert page.status_code == 200
    assert _field_value(page, "number") == number and _field_value(page, "email") == ""
    resp = browser.post("/orders/lookup", data={"number": number, "email": "guest@example.com"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/orders/{number}")
    assert "Guest keyboard" in page_text(browser.get(f"/orders/{number}"))


def test_a_retried_transition_request_sends_no_second_mail(client, db, staff):
    order, _headers = _customer_order(client, db)
    assert _move(client, staff, order.number, to="paid").status_code == 200
    again = _move(client, staff, order.number, to="paid")  # the client did not see the answer
    assert again.status_code == 409
    assert _move(client, staff, order.number, **SHIP).status_code == 200
    assert _move(client, staff, order.number, **SHIP).status_code == 409
    assert [m["Subject"].rsplit(" ", 2)[-2:] for m in mail.outbox()[1:]] == [
        ["payment", "received"],
        ["its", "way"],
    ]
    assert len(mail.outbox()) == 3 and len(rows(ORDER_STATUS)) == 2


def test_a_retried_or_lost_delivery_job_sends_each_step_once(client, db, staff):
    order, _headers = _customer_order(client, db)
    with hand_overs_lost():  # the process died right after the transition's commit
        assert _move(client, staff, order.number, to="paid").status_code == 200
    [row] = rows(ORDER_STATUS)
    assert row.status == "pending" and len(mail.outbox()) == 1  # only the confirmation
    assert sweep_later() == 1 and sweep_later() == 0
    assert outbox.deliver(row.id).outcome == "not_claimed"  # the queue ran the job again
    assert [m["Subject"] for m in mail.outbox()].count(f"shop: order {order.number} payment received") == 1


def test_a_refused_transition_writes_no_mail(client, db, staff):
    order, _headers = _customer_order(client, db)
    assert _move(client, staff, order.number, to="shipped").status_code == 409  # not paid yet
    assert _move(client, staff, order.number, to="paid").status_code == 200
    resp = _move(client, staff, order.number, to="shipped", carrier="UPS")  # no tracking number
    assert resp.status_code == 422 and set(resp.get_json()["errors"]) == {"tracking_number"}
    assert [r.key for r in rows(ORDER_STATUS)] == [f"order:{order.id}:paid"]
    assert services.get_order(order.id).status == "paid"


def test_shipping_again_after_a_partial_refund_writes_no_second_shipped_mail(app, client, db):
    order, _headers = _customer_order(client, db)
    shipment = services.Shipment("DHL", "JD014600006281230")
    services.transition_order(order.id, "paid", None)
    services.transition_order(order.id, "shipped", None, shipment=shipment)
    services.transition_order(order.id, "partially_refunded", None, by_refund=True)
    services.transition_order(order.id, "shipped", None, shipment=shipment)
    db.session.commit()
    assert [r.key.rsplit(":", 1)[1] for r in rows(ORDER_STATUS)] == ["paid", "shipped"]


def test_a_cancellation_by_the_customer_mails_them(client, db):
    order, headers = _customer_order(client, db)
    resp = client.post(f"/api/v1/orders/{order.number}/cancel", json={}, headers=headers)
    assert resp.status_code == 200
    cancelled = mail.outbox()[-1]
    assert cancelled["Subject"] == f"shop: order {order.number} cancelled"
    assert f"http://localhost/orders/{order.number}" in cancelled.text
    assert db.session.scalar(select(Order.status)) == "cancelled"
    assert [r.kind for r in rows()] == [ORDER_CONFIRMATION, ORDER_STATUS]
