"""Unpaid card orders: after ``UNPAID_ORDER_TIMEOUT`` their stock goes back on sale.

Each expired order is cancelled through the order lifecycle (``transition_order``), whose
conditional UPDATE lets exactly one caller cancel it: the stock comes back once, with a
ledger row and an order event, and a discount code's use is given back. A payment that
arrives afterwards is flagged for staff (``payments/webhooks.py``), never re-opening the
order by itself.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select, update

from shop.dbtypes import utcnow
from shop.exceptions import InvalidTransition
from shop.extensions import db
from shop.orders import services
from shop.orders.models import Order
from shop.payments.models import Payment


def overdue_orders(now: datetime | None = None) -> list[int]:
    """Ids of card orders still waiting for payment ``UNPAID_ORDER_TIMEOUT`` after they were placed."""
    cutoff = (now or utcnow()) - current_app.config["UNPAID_ORDER_TIMEOUT"]
    return list(
        db.session.scalars(
            select(Order.id)
            .where(
                Order.status == "pending_payment",
                Order.payment_provider == "card",
                Order.created_at < cutoff,
            )
            .order_by(Order.id)
        )
    )


def expire_unpaid(now: datetime | None = None) -> list[str]:
    """Cancel every overdue unpaid card order, each in its own transaction (commits).

    Returns:
        The numbers of the orders this call cancelled (one another process cancelled, or
        that was paid meanwhile, is skipped).
    """
    minutes = int(current_app.config["UNPAID_ORDER_TIMEOUT"].total_seconds() // 60)
    expired = []
    for order_id in overdue_orders(now):
        try:
            order = services.transition_order(
                order_id,
                "cancelled",
                None,
                f"Not paid by card within {minutes} minutes; the order was cancelled and its stock released.",
                allowed_from=("pending_payment",),
            )
        except InvalidTransition:
            db.session.rollback()
            continue
        db.session.execute(
            update(Payment)
            .where(Payment.order_id == order_id, Payment.status == "pending")
            .values(status="expired", updated_at=utcnow())
        )
        expired.append(order.number)
        db.session.commit()
    return expired
