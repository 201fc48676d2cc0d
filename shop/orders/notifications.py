"""E-mails about orders, through the outbox (``shop/jobs/outbox.py``).

The confirmation is written to the outbox in the order's own transaction, so a rolled-back
checkout tells nobody about an order that does not exist, and a committed order's mail goes
out exactly once, after the commit, whatever happens to the request that placed it.
"""

from __future__ import annotations

from flask import current_app

from shop.extensions import db
from shop.jobs import outbox
from shop.jobs.models import OutboxMessage
from shop.money import display_money
from shop.orders.models import Order
from shop.payments import providers as payments
from shop.pricing.display import breakdown_rows

ORDER_CONFIRMATION = "order_confirmation"


def confirmation_text(order, order_url: str) -> tuple[str, str]:
    """Subject and plain-text body of the order confirmation: the lines, the price breakdown
    (worded as on the order page), the address, payment instructions and the order's link."""
    shop = current_app.config["SHOP_NAME"]
    lines = [f"Thank you for your order {order.number}.", ""]
    for ln in order.lines:
        lines.append(
            f"  {ln.quantity} x {ln.name} ({ln.sku})  {display_money(ln.line_total_cents, order.currency)}"
        )
    lines.append("")
    for row in breakdown_rows(order):
        lines.append(f"{row.label}: {row.text or display_money(row.cents, order.currency)}")
    lines.append("")
    addr = order.shipping_address or {}
    lines.append("Shipping to:")
    for part in (
        addr.get("name"),
        addr.get("line1"),
        addr.get("line2"),
        " ".join(p for p in (addr.get("postal_code"), addr.get("city")) if p),
        addr.get("region"),
        addr.get("country"),
    ):
        if part:
            lines.append(f"  {part}")
    provider = payments.find_provider(order.payment_provider)
    if provider is not None:
        lines += ["", provider.instructions(order)]
    lines += ["", f"See your order at any time: {order_url}", "", f"-- {shop}"]
    return f"{shop}: order {order.number} confirmed", "\n".join(lines)


def queue_order_confirmation(order: Order, order_url: str) -> OutboxMessage:
    """Write the order's confirmation to the outbox, in the caller's transaction (flushes;
    the caller commits, then a job sends it).

    Args:
        order: the order just placed (flushed, so it has an id).
        order_url: the absolute address of the order's page, for the mail.
    Raises:
        sqlalchemy.exc.IntegrityError: this order's confirmation was already written.
    """
    return outbox.add_message(
        ORDER_CONFIRMATION,
        order.email,
        {"order_id": order.id, "order_url": order_url},
        key=f"{ORDER_CONFIRMATION}:{order.id}",
    )


@outbox.renderer(ORDER_CONFIRMATION)
def render_order_confirmation(msg: OutboxMessage) -> outbox.Mail | None:
    """The confirmation of the message's order, as the order stands; None if it is gone."""
    order = db.session.get(Order, msg.payload["order_id"])
    if order is None:
        return None
    subject, body = confirmation_text(order, msg.payload["order_url"])
    return outbox.Mail(subject, body)
