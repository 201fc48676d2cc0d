"""Card payments through Stripe's hosted Checkout, with the library talking to a local
stand-in for Stripe's API (``tests/stripe_standin.py``) that posts signed webhooks to the
shop served on a real port.

An order becomes paid only from a signed webhook; a forged signature, a stale timestamp,
a wrong amount and a replayed event change nothing; events out of order change nothing;
unpaid orders expire and restock once, and a payment after that is flagged for staff.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shop.catalog.models import StockMovement
from shop.dbtypes import utcnow
from shop.orders.models import Order, OrderEvent
from shop.payments import expiry
from shop.payments.models import Payment, PaymentEvent
from tests.factories import ADDRESS, make_product, stock_and_ledger
from tests.stripe_standin import StripeStandIn


@pytest.fixture
def standin(app, live_url, monkeypatch):
    """The stand-in, posting its webhooks to the shop; the shop's Stripe keys point at it."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    server = StripeStandIn(webhook_url=f"{live_url}/payments/stripe/webhook").start()
    app.config.update(
        STRIPE_SECRET_KEY=server.api_key,
        STRIPE_WEBHOOK_SECRET=server.webhook_secret,
        STRIPE_API_BASE=server.base_url,
        PAYMENT_PROVIDERS=["card", "manual"],
    )
    yield server
    server.stop()


@pytest.fixture
def product(db):
    product = make_product(price_cents=4_200, stock=10)
    db.session.commit()
    return product


def _card_checkout(client, product, quantity=2):
    """A guest puts the product in the cart and checks out by card; the answer."""
    client.post("/cart/add", data={"sku": product.sku, "quantity": str(quantity)})
    data = dict(ADDRESS, email="card@example.com", payment_provider="card")
    page = client.get("/checkout").get_data(as_text=True)
    for name in ("checkout_token", "expected_total_cents"):
        data[name] = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page).group(1)
    return client.post("/checkout", data=data)


def _order(db) -> Order:
    db.session.expire_all()
    return db.session.scalar(select(Order))


def _session_id(resp) -> str:
    location = resp.headers["Location"]
    assert "/pay/cs_" in location, location
    return location.rsplit("/", 1)[1]


def test_card_checkout_sends_the_shopper_to_the_hosted_page_for_the_exact_total(client, db, standin, product):
    resp = _card_checkout(client, product)
    assert resp.status_code == 303
    session_id = _session_id(resp)
    order = _order(db)
    assert (order.status, order.total_cents, order.payment_provider) == ("pending_payment", 8_400, "card")
    call = next(c for c in standin.requests if c.path == "/v1/checkout/sessions")
    assert call.idempotency_key == order.number
    assert call.params["client_reference_id"] == order.number
    assert call.params["line_items"][0]["price_data"]["unit_amount"] == "8400"
    assert call.params["line_items"][0]["price_data"]["currency"] == "usd"
    payment = db.session.scalar(select(Payment))
    assert (payment.reference, payment.amount_cents, payment.status) == (session_id, 8_400, "pending")
    # Coming back from the page changes nothing: only the webhook pays.
    page = client.get(f"/orders/{order.number}/thanks?payment=returned")
    assert "waiting for the card provider to confirm" in page.get_data(as_text=True)
    assert _order(db).status == "pending_payment"


def test_the_signed_webhook_marks_the_order_paid_once(client, db, standin, product):
    session_id = _session_id(_card_checkout(client, product))
    assert standin.complete(session_id) == 200
    order = _order(db)
    payment = db.session.scalar(select(Payment))
    assert order.status == "paid" and payment.status == "succeeded"
    assert payment.provider_payment.startswith("pi_") and order.payment_reference == payment.provider_payment
    # The same event again (a replay, or Stripe retrying) changes nothing.
    event_id = standin.webhooks[-1].event_id
    events_before = db.session.scalar(select(func.count(OrderEvent.id)))
    assert standin.resend(event_id) == 200
    assert standin.resend(event_id, resign=True) == 200
    db.session.expire_all()
    assert db.session.scalar(select(func.count(OrderEvent.id))) == events_before
    assert db.session.scalar(select(func.count(PaymentEvent.id))) == 1
    # A late "expired" for the paid session changes nothing either.
    session = standin.session(session_id)
    assert standin.send_event("checkout.session.expired", {**session, "status": "expired"}) == 200
    assert _order(db).status == "paid" and db.session.scalar(select(Payment.status)) == "succeeded"


@pytest.mark.parametrize(
    "tamper",
    [
        {"secret": "whsec_not_the_endpoints"},
        {"timestamp": int(time.time()) - 600},
        {"signature": "t=1,v1=deadbeef"},
        {"signature": ""},
    ],
    ids=["wrong-secret", "stale-timestamp", "forged-signature", "no-signature"],
)
def test_an_unsigned_or_stale_webhook_is_refused_and_changes_nothing(client, db, standin, product, tamper):
    session_id = _session_id(_card_checkout(client, product))
    paid = {
        **standin.session(session_id),
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": "pi_x",
    }
    assert standin.send_event("checkout.session.completed", paid, **tamper) == 400
    assert _order(db).status == "pending_payment"
    assert db.session.scalar(select(func.count(PaymentEvent.id))) == 0
    assert db.session.scalar(select(Payment.status)) == "pending"


def test_a_payment_of_another_amount_or_currency_is_not_taken_as_paid(client, db, standin, product):
    session_id = _session_id(_card_checkout(client, product))
    session = {
        **standin.session(session_id),
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": "pi_y",
    }
    assert standin.send_event("checkout.session.completed", {**session, "amount_total": 100}) == 200
    order = _order(db)
    payment = db.session.scalar(select(Payment))
    assert order.status == "pending_payment" and payment.status == "mismatch"
    assert "did not match" in order.attention and "100 USD" in order.attention


def test_unpaid_card_orders_expire_and_restock_once_and_a_late_payment_is_flagged(
    client, db, standin, product
):
    session_id = _session_id(_card_checkout(client, product))
    order = _order(db)
    assert stock_and_ledger(product.id) == (8, 8)
    order.created_at = utcnow() - timedelta(hours=2)
    db.session.commit()

    assert expiry.expire_unpaid() == [order.number]
    assert expiry.expire_unpaid() == []  # a second run (or a second worker) finds nothing
    order = _order(db)
    assert order.status == "cancelled"
    assert stock_and_ledger(product.id) == (10, 10)
    released = db.session.scalars(
        select(StockMovement).where(
            StockMovement.order_id == order.id, StockMovement.reason == "cancellation"
        )
    ).all()
    assert [m.delta for m in released] == [2]
    assert db.session.scalar(select(Payment.status)) == "expired"

    # The shopper pays on the page they still had open: the order is not re-opened.
    assert standin.complete(session_id) == 200
    order = _order(db)
    assert order.status == "cancelled" and stock_and_ledger(product.id) == (10, 10)
    assert "arrived while the order was cancelled" in order.attention


def test_a_recent_unpaid_order_is_kept(client, db, standin, product):
    _card_checkout(client, product)
    assert expiry.expire_unpaid() == []
    assert _order(db).status == "pending_payment"


def test_pay_now_reuses_the_open_session_and_starts_a_new_one_after_it_expired(client, db, standin, product):
    first = _session_id(_card_checkout(client, product))
    order = _order(db)
    again = client.post(f"/orders/{order.number}/pay")
    assert _session_id(again) == first
    standin.expire(first)
    assert db.session.scalar(select(Payment.status)) == "expired"
    third = client.post(f"/orders/{order.number}/pay")
    second_session = _session_id(third)
    assert second_session != first
    keys = [c.idempotency_key for c in standin.requests if c.path == "/v1/checkout/sessions"]
    assert keys == [order.number, f"{order.number}-2"]
    assert standin.complete(second_session) == 200
    assert _order(db).status == "paid"


def test_the_order_is_kept_when_stripe_cannot_be_reached(client, db, standin, product, app):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # nothing listens there
    resp = _card_checkout(client, product)
    assert resp.status_code == 303 and "/thanks" in resp.headers["Location"]
    order = _order(db)
    assert order.status == "pending_payment" and db.session.scalar(select(func.count(Payment.id))) == 0
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "you can try “Pay now” again" in page and "Pay now" in page
    app.config["STRIPE_API_BASE"] = standin.base_url
    assert "/pay/cs_" in client.post(f"/orders/{order.number}/pay").headers["Location"]


def test_card_is_offered_only_with_keys(client, db, app, product):
    client.post("/cart/add", data={"sku": product.sku, "quantity": "1"})
    app.config.update(PAYMENT_PROVIDERS=["card", "manual"], STRIPE_SECRET_KEY="", STRIPE_WEBHOOK_SECRET="")
    assert 'value="card"' not in client.get("/checkout").get_data(as_text=True)
    app.config.update(STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x")
    assert 'value="card"' in client.get("/checkout").get_data(as_text=True)


def test_forms_may_lead_to_the_payment_page_only_when_cards_are_taken(app_factory):
    # checkout's answer redirects to Stripe's page, and form-action governs that redirect
    with_cards = app_factory(STRIPE_SECRET_KEY="sk_test_x", STRIPE_WEBHOOK_SECRET="whsec_x")
    csp = with_cards.test_client().get("/cart").headers["Content-Security-Policy"]
    assert "form-action 'self' https://checkout.stripe.com" in csp
    without = app_factory(STRIPE_SECRET_KEY="", STRIPE_WEBHOOK_SECRET="")
    assert (
        "form-action 'self';" in without.test_client().get("/cart").headers["Content-Security-Policy"] + ";"
    )
