"""In a real browser (Debian's Chromium driven by Playwright): a shopper checks out by card,
reaches the payment page (a local stand-in for Stripe's hosted Checkout), pays, comes back,
and the order reads "Paid" because the provider's signed webhook arrived; staff then refund
one line from the admin order page, and the refund settles when the provider's webhook
confirms it. A shopper who leaves the payment page comes back to an order that waits, with
"Pay now".
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from shop.orders.models import Order
from shop.payments.models import Refund
from tests.browsers import CHROMIUM, MARKS, fill_address, log_in, submit
from tests.factories import make_product, make_user, stock_and_ledger
from tests.stripe_standin import StripeStandIn

pytestmark = MARKS


@pytest.fixture
def standin(app, monkeypatch):
    """The provider's stand-in (its webhook address is set once the shop is up)."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    server = StripeStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def card_shop(app, app_factory, standin):
    """The shop built with its Stripe settings pointing at the stand-in (the CSP lets forms
    lead to the stand-in's payment page, as it does to Stripe's), served on a free port."""
    shop = app_factory(
        STRIPE_SECRET_KEY=standin.api_key,
        STRIPE_WEBHOOK_SECRET=standin.webhook_secret,
        STRIPE_API_BASE=standin.base_url,
        STRIPE_CHECKOUT_ORIGIN=standin.base_url,
        PAYMENT_PROVIDERS=["card", "manual"],
    )
    server = make_server("127.0.0.1", 0, shop, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    standin.webhook_url = f"{base}/payments/stripe/webhook"
    yield base
    server.shutdown()
    thread.join(5)


@pytest.fixture
def page():
    """A page of a headless Chromium, phone-sized."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        yield browser.new_page(viewport={"width": 390, "height": 844})
        browser.close()


def _check_out_by_card(page, base: str, product, quantity: int = 1) -> None:
    page.goto(f"{base}/p/{product.slug}")
    page.fill("form[action='/cart/add'] input[name=quantity]", str(quantity))
    submit(page, page.locator("form[action='/cart/add'] button[type=submit]").first)
    page.goto(f"{base}/checkout")
    page.fill("input[name=email]", "cardholder@example.com")
    fill_address(page)
    page.check("#pay-card")
    page.locator("button[value=place]").click()
    page.wait_for_url("**/pay/cs_*")


def test_a_card_payment_from_checkout_to_paid(app, db, card_shop, standin, page, tmp_path):
    product = make_product(price_cents=3_150, stock=4)
    db.session.commit()
    _check_out_by_card(page, card_shop, product, quantity=2)
    assert "Stand-in for Stripe Checkout" in page.inner_text("body")
    assert page.inner_text("#amount") == "63.00 USD"
    page.click("#pay")
    page.wait_for_url("**/thanks?payment=returned")
    page.screenshot(path=str(tmp_path / "paid.png"), full_page=True)
    assert "Status: Paid." in page.inner_text("main")
    db.session.expire_all()
    order = db.session.scalar(select(Order))
    assert order.status == "paid" and order.payment_reference.startswith("pi_")
    assert [d.status for d in standin.webhooks] == [200]

    # Staff refund one of the two units, back to stock.
    staff = make_user(email="owner@example.com", role="admin")
    db.session.commit()
    admin = page.context.browser.new_page()
    log_in(admin, card_shop, staff.email)
    admin.goto(f"{card_shop}/admin/orders/{order.number}")
    admin.fill(f"input[name=qty_{order.lines[0].id}]", "1")
    admin.check("input[name=restock]")
    admin.get_by_role("button", name="Review refund…").click()
    submit(admin, admin.get_by_role("button", name="Yes, refund $31.50"))
    refund_call = next(c for c in standin.requests if c.path == "/v1/refunds")
    assert (refund_call.params["amount"], refund_call.params["payment_intent"]) == (
        "3150",
        order.payment_reference,
    )
    db.session.expire_all()
    refund = db.session.scalar(select(Refund))
    assert refund.status == "pending" and stock_and_ledger(product.id) == (2, 2)
    assert standin.settle_refund(refund.provider_reference) == 200
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).status == "succeeded"
    assert db.session.get(Order, order.id).status == "partially_refunded"
    assert stock_and_ledger(product.id) == (3, 3)
    admin.reload()
    assert "Partially refunded" in admin.inner_text("main")


def test_leaving_the_payment_page_keeps_the_order_waiting_with_pay_now(app, db, card_shop, standin, page):
    product = make_product(price_cents=1_000, stock=4)
    db.session.commit()
    _check_out_by_card(page, card_shop, product)
    page.click("#cancel")
    page.wait_for_url("**/thanks?payment=cancelled")
    text = page.inner_text("main")
    assert "You left the payment page before paying" in text and "Pay now · $10.00" in text
    page.get_by_role("button", name="Pay now").click()
    page.wait_for_url("**/pay/cs_*")
    page.click("#pay")
    page.wait_for_url("**/thanks?payment=returned")
    assert "Status: Paid." in page.inner_text("main")
