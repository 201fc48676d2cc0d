"""E-mails about orders. Call these only after the order's transaction has committed,
so a rolled-back checkout never tells anyone about an order that does not exist."""

from __future__ import annotations

from flask import current_app

from shop import mail
from shop.money import display_money
from shop.orders import payments


def confirmation_text(order, order_url: str) -> tuple[str, str]:
    """Subject and plain-text body of the order confirmation."""
    shop = current_app.config["SHOP_NAME"]
    lines = [f"Thank you for your order {order.number}.", ""]
    for ln in order.lines:
        lines.append(
            f"  {ln.quantity} x {ln.name} ({ln.sku})  {display_money(ln.line_total_cents, order.currency)}"
        )
    lines += ["", f"Total: {display_money(order.total_cents, order.currency)}", ""]
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


def send_order_confirmation(order, order_url: str) -> bool:
    """Send the confirmation to the order's e-mail address.

    Returns:
        True if sent; False if the mail backend failed (logged; the order stands).
    """
    subject, body = confirmation_text(order, order_url)
    try:
        mail.send_mail(order.email, subject, body)
    except Exception:  # a mail outage must not turn a placed order into an error page
        current_app.logger.exception("order confirmation for %s not sent", order.number)
        return False
    return True
