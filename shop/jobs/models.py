"""The outbox: messages written in the same transaction as what causes them.

A row is the promise to send one message. It is committed with the order or the reset
request that causes it, so neither a rollback nor a crash after the commit can separate the
two: a rolled-back order has no row, and a committed one has a row that a job delivers (and
the sweep hands over again if the job was lost).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shop.dbtypes import JSONType, UTCDateTime, utcnow
from shop.extensions import db

#: ``pending`` waits for a delivery (first or retry), ``sending`` is claimed by one,
#: ``sent`` went out, ``skipped`` had nothing to send (e.g. a reset for an unknown address),
#: ``failed`` ran out of attempts (staff can retry it under /admin/jobs).
OUTBOX_STATUSES = ("pending", "sending", "sent", "skipped", "failed")


class OutboxMessage(db.Model):
    """One message to deliver: what (``kind`` + ``payload``), to whom, and how it went.

    ``key`` is unique, so one cause can only ever write one message (an order's
    confirmation is ``order_confirmation:<order id>``). The text is rendered when the
    message is delivered, so no secret (a reset link) is ever stored here.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'skipped', 'failed')",
            name="status_valid",
        ),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # The sweep's query: unsent rows by when they are due.
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(50))
    recipient: Mapped[str] = mapped_column(String(254))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
