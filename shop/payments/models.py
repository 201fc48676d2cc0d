"""Payments as records: each attempt to pay, each provider event received, each refund.

An order's money moves only through these rows (as Solidus' payments and refunds): the
order becomes paid when a payment succeeds (for cards, only from the provider's signed
webhook), and refunds never add up to more than what was paid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.dbtypes import JSONType, UTCDateTime, utcnow
from shop.extensions import db

#: A payment attempt's states: waiting for the shopper/provider, money in, never completed,
#: refused by the provider, or paid with an amount or currency that is not the order's.
PAYMENT_STATUSES = ("pending", "succeeded", "expired", "failed", "mismatch")

#: A refund's states: asked of the provider, confirmed, refused.
REFUND_STATUSES = ("pending", "succeeded", "failed")


class Payment(db.Model):
    """One attempt to pay an order: ``provider`` (``card``, ``manual``, ...), the provider's
    ``reference`` (a Stripe Checkout Session id), the ``amount_cents`` and ``currency`` asked
    for, and ``provider_payment`` (the Stripe PaymentIntent id once paid, which refunds
    need). ``status`` is one of :data:`PAYMENT_STATUSES`."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'succeeded', 'expired', 'failed', 'mismatch')", name="status_valid"
        ),
        CheckConstraint("amount_cents >= 0", name="amount_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(30))
    reference: Mapped[str] = mapped_column(String(255), default="", index=True)
    provider_payment: Mapped[str] = mapped_column(String(255), default="")
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    order = relationship("Order")


class PaymentEvent(db.Model):
    """A provider event the shop received (Stripe's ``evt_...``), stored once: a replayed
    or duplicated event finds its id taken and changes nothing."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_payment_events_provider_event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(30))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    outcome: Mapped[str] = mapped_column(String(255), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Refund(db.Model):
    """Money given back for an order: ``amount_cents`` of ``payment``, for ``lines``
    (``[{"line_id", "sku", "quantity", "amount_cents"}]``, or [] for an amount alone),
    with the stock put back when ``restock``. A card refund is ``pending`` until the
    provider's webhook confirms it; a manual one is recorded as ``succeeded``. A
    ``failed`` refund no longer counts against what may still be refunded."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status_valid"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id", ondelete="SET NULL"))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    restock: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    provider_reference: Mapped[str] = mapped_column(String(255), default="", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    payment = relationship("Payment")
    actor = relationship("User")
