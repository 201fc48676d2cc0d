"""Payment pages and Stripe's webhook.

``POST /orders/<number>/pay`` sends the shopper of an unpaid card order to Stripe's hosted
page (again, if they left it). ``POST /payments/stripe/webhook`` is where Stripe reports
what happened; it needs no CSRF token (Stripe signs it instead) and answers 400 to
anything not signed with the endpoint's secret.
"""

from __future__ import annotations

from flask import jsonify, request

from shop.extensions import csrf
from shop.payments import bp, stripe_gateway, webhooks
from shop.payments.redirects import pay_redirect
from shop.transaction import unit_of_work


@bp.post("/orders/<number>/pay")
def pay(number: str):
    """Pay (or go back to paying) an unpaid card order on Stripe's page."""
    return pay_redirect(number)


@bp.post("/payments/stripe/webhook")
@csrf.exempt
def stripe_webhook():
    """Verify and apply one Stripe event; 200 once handled (or already handled before)."""
    event = stripe_gateway.verify_event(request.get_data(), request.headers.get("Stripe-Signature"))
    with unit_of_work():
        outcome = webhooks.handle_stripe_event(event)
    return jsonify({"received": True, "outcome": outcome})
