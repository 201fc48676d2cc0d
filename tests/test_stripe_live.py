"""Against Stripe's own test mode, when its keys are given (skipped otherwise, and in CI):
the shop's gateway creates a hosted Checkout Session and reads it back.

    STRIPE_LIVE_TEST_SECRET_KEY=sk_test_... pytest tests/test_stripe_live.py

Only a ``sk_test_`` key is accepted, so this can never charge a card.
"""

from __future__ import annotations

import os

import pytest

from shop.payments import stripe_gateway

KEY = os.environ.get("STRIPE_LIVE_TEST_SECRET_KEY", "")

pytestmark = pytest.mark.skipif(
    not KEY.startswith("sk_test_"), reason="set STRIPE_LIVE_TEST_SECRET_KEY to a Stripe test-mode key"
)


def test_a_checkout_session_in_stripes_test_mode(app):
    app.config.update(STRIPE_SECRET_KEY=KEY, STRIPE_API_BASE="https://api.stripe.com")
    session = stripe_gateway.create_checkout_session(
        order_number="TEST-0000-0001",
        amount_cents=1234,
        currency="USD",
        email="test@example.com",
        success_url="https://shop.example/thanks",
        cancel_url="https://shop.example/cancelled",
        idempotency_key=f"live-test-{os.getpid()}",
    )
    assert session["amount_total"] == 1234 and session["currency"] == "usd"
    assert session["url"].startswith("https://checkout.stripe.com/")
    again = stripe_gateway.retrieve_checkout_session(session["id"])
    assert again["client_reference_id"] == "TEST-0000-0001" and again["status"] == "open"
