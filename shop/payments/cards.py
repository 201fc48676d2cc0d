"""Card payments: send the shopper of an unpaid card order to Stripe's hosted Checkout.

The order is placed (and its stock taken) first; then a Checkout Session is created for
its exact total, a :class:`Payment` row records the attempt, and the shopper is sent to
Stripe's page. Coming back from that page changes nothing: only the signed webhook
(``payments/webhooks.py``) marks the order paid.
"""

from __future__ import annotations

from sqlalchemy import func, select

from shop.exceptions import Conflict
from shop.extensions import db
from shop.orders.models import Order
from shop.payments import stripe_gateway
from shop.payments.models import Payment


def _pending_payment(order: Order) -> Payment | None:
    """The order's latest card payment still waiting, if any."""
    return db.session.scalar(
        select(Payment)
        .where(Payment.order_id == order.id, Payment.provider == "card", Payment.status == "pending")
        .order_by(Payment.id.desc())
    )


def _open_session_url(payment: Payment) -> str | None:
    """The hosted page of a waiting attempt if its session is still open; an expired one
    is marked so (a new attempt follows)."""
    session = stripe_gateway.retrieve_checkout_session(payment.reference)
    if session.get("status") == "open" and session.get("url"):
        return session["url"]
    if session.get("status") == "expired":
        payment.status = "expired"
    return None


def start_checkout(order: Order, *, success_url: str, cancel_url: str) -> str:
    """The address of Stripe's hosted page where the shopper pays ``order`` (flushes).

    An attempt whose session is still open is reused; otherwise a new session is created
    for the order's exact total and currency and recorded as a ``pending`` payment. The
    idempotency key is the order number for the first attempt (``<number>-<n>`` after), so
    a retried call never makes a second session for one attempt.

    Raises:
        Conflict: the order is not a card order waiting for payment (409).
        GatewayError: Stripe refused or could not be reached (502); nothing is recorded.
    """
    if order.payment_provider != "card" or order.status != "pending_payment":
        raise Conflict(f"Order {order.number} is not waiting for a card payment.")
    pending = _pending_payment(order)
    if pending is not None and (url := _open_session_url(pending)):
        return url
    attempt = 1 + db.session.scalar(
        select(func.count()).select_from(Payment).where(Payment.order_id == order.id)
    )
    session = stripe_gateway.create_checkout_session(
        order_number=order.number,
        amount_cents=order.total_cents,
        currency=order.currency,
        email=order.email,
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=order.number if attempt == 1 else f"{order.number}-{attempt}",
    )
    db.session.add(
        Payment(
            order_id=order.id,
            provider="card",
            reference=session["id"],
            amount_cents=order.total_cents,
            currency=order.currency,
            status="pending",
        )
    )
    db.session.flush()
    return session["url"]
