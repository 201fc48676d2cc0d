"""The shop's only contact with Stripe, through Stripe's own library (``stripe``).

Three calls go out (create a hosted Checkout Session, read one back, create a refund) and
one kind comes in (a webhook event, verified here). Keys and the API's address come from
the config (``STRIPE_SECRET_KEY``, ``STRIPE_WEBHOOK_SECRET``, ``STRIPE_API_BASE``); the
tests point the address at a local stand-in. Amounts are integer minor units and the
currency is sent in lower case, as Stripe's API takes them.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from flask import current_app

from shop.exceptions import ShopError

if TYPE_CHECKING:
    import stripe


def _stripe() -> ModuleType:
    """The ``stripe`` library, imported on the first call to Stripe rather than by every
    web worker at start-up (it brings ``requests`` and ``urllib3``: some 6 MB)."""
    import stripe

    # The library would otherwise write an id file into the home directory and send usage
    # statistics with every call; the shop needs neither.
    stripe.enable_telemetry = False
    return stripe


class GatewayError(ShopError):
    """Stripe could not be reached or refused the call (502: the shop is fine, its payment
    provider is not); the detail says what to do."""

    status = 502
    title = "Payment provider unavailable"
    type_slug = "payment-provider-unavailable"


class InvalidWebhook(ShopError):
    """A webhook request that is not a genuine, fresh Stripe event (400, as Stripe asks)."""

    status = 400
    title = "Invalid webhook"
    type_slug = "invalid-webhook"


def client() -> stripe.StripeClient:
    """A Stripe client for the configured key and API address: one retry (with the same
    idempotency key) and ``STRIPE_TIMEOUT`` seconds per call, not the library's 80."""
    cfg = current_app.config
    stripe = _stripe()
    return stripe.StripeClient(
        cfg["STRIPE_SECRET_KEY"],
        base_addresses={"api": cfg["STRIPE_API_BASE"]},
        max_network_retries=1,
        http_client=stripe.RequestsClient(timeout=cfg["STRIPE_TIMEOUT"]),
    )


def create_checkout_session(
    *,
    order_number: str,
    amount_cents: int,
    currency: str,
    email: str,
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> dict:
    """A hosted Checkout Session for one order's exact total.

    One line, the order itself, at ``amount_cents`` (the breakdown is already in the
    total: Stripe's line items cannot carry a discount); the order number is the
    ``client_reference_id`` and in the metadata of the session and its PaymentIntent.

    Returns:
        The session as a dict (``id``, ``url``, ``amount_total``, ``currency``, ``status``).
    Raises:
        GatewayError: Stripe refused or could not be reached.
    """
    params = {
        "mode": "payment",
        "client_reference_id": order_number,
        "customer_email": email,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": currency.lower(),
                    "unit_amount": amount_cents,
                    "product_data": {"name": f"Order {order_number}"},
                },
            }
        ],
        "metadata": {"order_number": order_number},
        "payment_intent_data": {"metadata": {"order_number": order_number}},
    }
    return _call(lambda c: c.v1.checkout.sessions.create(params, {"idempotency_key": idempotency_key}))


def retrieve_checkout_session(session_id: str) -> dict:
    """A Checkout Session as Stripe has it now.

    Raises:
        GatewayError: Stripe refused or could not be reached.
    """
    return _call(lambda c: c.v1.checkout.sessions.retrieve(session_id))


def create_refund(*, payment_intent: str, amount_cents: int, refund_id: int, order_number: str) -> dict:
    """Ask Stripe to refund ``amount_cents`` of a PaymentIntent; the shop's refund id is the
    idempotency key, so a retried call never refunds twice.

    Returns:
        Stripe's Refund (``id``, ``status``: ``pending``/``succeeded``/``failed``...).
    Raises:
        GatewayError: Stripe refused (e.g. more than is left to refund) or could not be reached.
    """
    params = {
        "payment_intent": payment_intent,
        "amount": amount_cents,
        "metadata": {"order_number": order_number, "refund_id": str(refund_id)},
    }
    return _call(lambda c: c.v1.refunds.create(params, {"idempotency_key": f"refund-{refund_id}"}))


def verify_event(payload: bytes, signature: str | None) -> dict:
    """A webhook event whose signature and timestamp Stripe's library accepts.

    ``Stripe-Signature`` is an HMAC-SHA256 of ``"<timestamp>.<payload>"`` with the
    endpoint's secret; an event older than ``STRIPE_WEBHOOK_TOLERANCE`` seconds is refused,
    so a captured request cannot be replayed later.

    Returns:
        The event as plain data (``id``, ``type``, ``data.object``).
    Raises:
        InvalidWebhook: no, a wrong or a stale signature, or a body that is not an event (400).
    """
    cfg = current_app.config
    stripe = _stripe()
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, cfg["STRIPE_WEBHOOK_SECRET"], tolerance=cfg["STRIPE_WEBHOOK_TOLERANCE"]
        )
    except stripe.SignatureVerificationError as exc:
        raise InvalidWebhook(
            "The webhook's signature is missing, wrong or too old.", {"Stripe-Signature": [str(exc)]}
        ) from exc
    except ValueError as exc:
        raise InvalidWebhook("The webhook's body is not an event.", {"body": [str(exc)]}) from exc
    return event.to_dict()


def _call(call) -> dict:
    """Run one library call and return its object as plain data; the library's errors
    become :class:`GatewayError` with Stripe's message."""
    try:
        return call(client()).to_dict()
    except _stripe().StripeError as exc:
        message = getattr(exc, "user_message", None) or str(exc) or exc.__class__.__name__
        raise GatewayError(f"The card payment service answered: {message}") from exc
