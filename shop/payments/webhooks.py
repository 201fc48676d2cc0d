"""Stripe's webhook events, each handled once, in any order.

The event's signature has been checked (``stripe_gateway.verify_event``). Its id is
stored first (``payment_events``, unique): a replayed or duplicated event finds the id
taken and changes nothing. Then, by type:

- ``checkout.session.completed`` / ``checkout.session.async_payment_succeeded`` with
  ``payment_status == "paid"``: the payment succeeds if the amount and currency are the
  order's; the order becomes paid if it is still waiting. A payment for an order that was
  cancelled meanwhile (unpaid too long) or already paid is recorded and flagged for staff
  (``Order.attention``); a wrong amount or currency is recorded as ``mismatch`` and
  flagged, and the order stays unpaid.
- ``checkout.session.expired`` / ``checkout.session.async_payment_failed``: a waiting
  payment is marked expired / failed; anything later ("expired" after "paid") changes
  nothing.
- ``refund.created`` / ``refund.updated``: a pending refund is settled once (stock back,
  order refunded or partially refunded) or marked failed (``payments/refunds.py``).

Other types are stored and ignored.
"""

from __future__ import annotations

from sqlalchemy import select

from shop.exceptions import InvalidTransition
from shop.extensions import db
from shop.money import display_money
from shop.orders import services
from shop.orders.models import Order
from shop.payments import refunds
from shop.payments.models import Payment, PaymentEvent, Refund
from shop.transaction import insert_unless_taken

_PAID_TYPES = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
_ENDED_TYPES = {"checkout.session.expired": "expired", "checkout.session.async_payment_failed": "failed"}
_REFUND_TYPES = ("refund.created", "refund.updated")


def handle_stripe_event(event: dict) -> str:
    """Apply one verified Stripe event in the caller's transaction (flushes).

    Args:
        event: ``{id, type, data: {object: {...}}}`` as Stripe sends it.
    Returns:
        What was done, in a few words (also stored on the event row).
    """
    record = PaymentEvent(provider="stripe", event_id=str(event["id"]), type=str(event.get("type", "")))
    if not insert_unless_taken(record, "uq_payment_events_provider_event", "payment_events.provider"):
        return "already handled"
    kind, obj = record.type, (event.get("data") or {}).get("object") or {}
    if kind in _PAID_TYPES:
        outcome = _session_paid(obj, record)
    elif kind in _ENDED_TYPES:
        outcome = _session_ended(obj, _ENDED_TYPES[kind], record)
    elif kind in _REFUND_TYPES:
        outcome = _refund_changed(obj, record)
    else:
        outcome = "ignored"
    record.outcome = outcome[:255]
    db.session.flush()
    return outcome


def _payment_for(session: dict, record: PaymentEvent) -> Payment | None:
    """The payment attempt a Checkout Session belongs to (its row locked), noted on the event."""
    payment = db.session.scalar(
        select(Payment)
        .where(Payment.provider == "card", Payment.reference == str(session.get("id", "")))
        .with_for_update()
    )
    if payment is not None:
        record.order_id = payment.order_id
    return payment


def _session_paid(session: dict, record: PaymentEvent) -> str:
    """A completed Checkout Session: the money is in, if the session says paid."""
    if session.get("payment_status") != "paid":
        return "session completed, payment not yet confirmed"
    payment = _payment_for(session, record)
    if payment is None:
        return "no such payment"
    if payment.status == "succeeded":
        return "payment already recorded"
    order = db.session.get(Order, payment.order_id, populate_existing=True)
    amount, currency = session.get("amount_total"), str(session.get("currency", "")).upper()
    if amount != payment.amount_cents or currency != payment.currency:
        payment.status = "mismatch"
        payment.note = (
            f"Stripe reported {amount} {currency}; the order asked {payment.amount_cents} {payment.currency}."
        )
        _flag(order, f"A card payment did not match the order: {payment.note} The order was not marked paid.")
        return "amount or currency mismatch"
    payment.status, payment.provider_payment = "succeeded", str(session.get("payment_intent") or "")
    return _mark_paid(order, payment)


def _mark_paid(order: Order, payment: Payment) -> str:
    """Move a waiting order to paid; flag one that was cancelled or paid meanwhile."""
    paid = display_money(payment.amount_cents, payment.currency)
    if order.status != "pending_payment":
        _flag(
            order,
            f"A card payment of {paid} ({payment.provider_payment}) arrived while the order was "
            f"{services.status_label(order.status).lower()}; refund it or re-open the order by hand.",
        )
        return "late payment flagged for staff"
    try:
        services.transition_order(
            order.id, "paid", None, f"Paid by card: {paid} ({payment.provider_payment})."
        )
    except InvalidTransition:
        _flag(order, f"A card payment of {paid} arrived while the order changed; check it.")
        return "late payment flagged for staff"
    order.payment_reference = payment.provider_payment
    return "order paid"


def _session_ended(session: dict, status: str, record: PaymentEvent) -> str:
    """An expired or failed session: a waiting payment ends; a settled one is untouched."""
    payment = _payment_for(session, record)
    if payment is None:
        return "no such payment"
    if payment.status != "pending":
        return f"payment already {payment.status}; nothing changed"
    payment.status = status
    return f"payment {status}"


def _refund_changed(refund: dict, record: PaymentEvent) -> str:
    """Stripe's word on a refund: settle it once, or mark it failed (``payments/refunds.py``)."""
    shop_id = str((refund.get("metadata") or {}).get("refund_id", ""))
    outcome = refunds.settle_provider_refund(
        str(refund.get("id", "")),
        str(refund.get("status", "")),
        refund_id=int(shop_id) if shop_id.isdigit() else None,
    )
    settled = db.session.scalar(
        select(Refund.order_id).where(Refund.provider_reference == str(refund.get("id", "")))
    )
    record.order_id = settled
    return outcome


def _flag(order: Order, message: str) -> None:
    """Ask staff to look at the order (kept with earlier reasons)."""
    order.attention = f"{order.attention}\n{message}".strip()
