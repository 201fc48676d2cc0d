"""E-mails about orders, through the outbox (``shop/jobs/outbox.py``).

Every mail is written to the outbox in the transaction that causes it: the confirmation
in the order's own transaction, and one mail when the order is paid, shipped (with the
carrier and tracking number) or cancelled, in the transaction of that status change
(:func:`queue_status_mail`, called by ``services.transition_order``). A rolled-back
change tells nobody anything; a committed one's mail goes out once, after the commit,
whatever happens to the request or job that made it. Each cause has one outbox key
(``order_confirmation:<id>``, ``order:<id>:<status>``), so a cause never writes two.

Mails have a plain-text and an HTML part, rendered from ``templates/mail/`` when the
message is delivered (so they show the order as it stands). Their link leads a customer
to the order page and a guest to the order look-up with the number filled in (a guest
has no account to open the order page with).
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from shop.extensions import db
from shop.jobs import outbox
from shop.jobs.models import OutboxMessage
from shop.money import display_money
from shop.orders.models import Order
from shop.payments import providers as payments
from shop.pricing.display import breakdown_rows

ORDER_CONFIRMATION = "order_confirmation"
ORDER_STATUS = "order_status"

#: Statuses the customer is told about by mail, and each mail's subject (after the shop's
#: name and the order number).
STATUS_SUBJECTS = {
    "paid": "payment received",
    "shipped": "on its way",
    "cancelled": "cancelled",
}


def status_key(order_id: int, status: str) -> str:
    """The outbox key of the mail about an order reaching ``status``."""
    return f"order:{order_id}:{status}"


def order_link(order: Order, base_url: str) -> str:
    """The address a mail about ``order`` links to, under ``base_url``: the order page for a
    customer, the look-up form with the number filled in for a guest."""
    if order.user_id is None:
        return outbox.link(base_url, "orders.guest_lookup", number=order.number)
    return outbox.link(base_url, "orders.order_detail", number=order.number)


def _site_of(order_url: str, number: str) -> str:
    """The site address an order page's URL (as the request that placed the order saw it)
    lives under; ``SHOP_URL`` when the URL is not an order page's."""
    suffix = f"orders/{number}"
    if order_url.endswith(suffix):
        return order_url[: -len(suffix)]
    return current_app.config["SHOP_URL"]


def _render(name: str, **context) -> tuple[str, str]:
    """Plain text and HTML of ``templates/mail/<name>.txt`` / ``.html``.

    Rendered without a request (a job delivers the mail): with the app's filters and
    globals, but none of the page context processors. The text template keeps its line
    breaks as written (block tags take their own line with them).
    """
    env = current_app.jinja_env
    context.setdefault("shop_name", current_app.config["SHOP_NAME"])
    text_env = env.overlay(trim_blocks=True, lstrip_blocks=True, autoescape=False)
    text = text_env.get_template(f"mail/{name}.txt").render(**context)
    html = env.get_template(f"mail/{name}.html").render(**context)
    return text.strip() + "\n", html


def _address_lines(order: Order) -> list[str]:
    """The shipping address as lines (empty parts left out)."""
    addr = order.shipping_address or {}
    parts = (
        addr.get("name"),
        addr.get("line1"),
        addr.get("line2"),
        " ".join(p for p in (addr.get("postal_code"), addr.get("city")) if p),
        addr.get("region"),
        addr.get("country"),
    )
    return [p for p in parts if p]


def _order_context(order: Order, link: str) -> dict:
    """What every order mail's templates get."""
    return {
        "order": order,
        "link": link,
        "lines": [
            (ln.quantity, ln.name, ln.sku, display_money(ln.line_total_cents, order.currency))
            for ln in order.lines
        ],
        "rows": [
            (row.label, row.text or display_money(row.cents, order.currency)) for row in breakdown_rows(order)
        ],
        "address": _address_lines(order),
        "is_guest": order.user_id is None,
    }


def confirmation_mail(order: Order, link: str) -> outbox.Mail:
    """The order confirmation: the lines, the price breakdown (worded as on the order page),
    the address, payment instructions and ``link`` (see :func:`order_link`).

    Worded by the order's status when the mail is rendered: an order still waiting for its
    payment is "received, waiting for payment", never "confirmed" (the shopper might think
    it paid); a paid one is "confirmed".
    """
    provider = payments.find_provider(order.payment_provider)
    context = _order_context(order, link)
    context["instructions"] = provider.instructions(order) if provider is not None else ""
    context["waiting"] = order.status == "pending_payment"
    text, html = _render("order_confirmation", **context)
    state = "received, waiting for payment" if context["waiting"] else "confirmed"
    subject = f"{current_app.config['SHOP_NAME']}: order {order.number} {state}"
    return outbox.Mail(subject, text, html)


def confirmation_text(order: Order, link: str) -> tuple[str, str]:
    """Subject and plain-text body of the order confirmation (:func:`confirmation_mail`)."""
    mail = confirmation_mail(order, link)
    return mail.subject, mail.body


def status_mail(order: Order, status: str, link: str) -> outbox.Mail:
    """The mail telling the customer the order is now ``status`` (one of
    :data:`STATUS_SUBJECTS`); the shipped one names the carrier and tracking number.

    Raises:
        KeyError: no mail is sent for ``status``.
    """
    subject = f"{current_app.config['SHOP_NAME']}: order {order.number} {STATUS_SUBJECTS[status]}"
    text, html = _render(f"order_{status}", **_order_context(order, link))
    return outbox.Mail(subject, text, html)


def queue_order_confirmation(order: Order, order_url: str) -> OutboxMessage:
    """Write the order's confirmation to the outbox, in the caller's transaction (flushes;
    the caller commits, then a job sends it).

    Args:
        order: the order just placed (flushed, so it has an id).
        order_url: the absolute address of the order's page as the request saw it; the
            mail's link is built under the same site address.
    Raises:
        sqlalchemy.exc.IntegrityError: this order's confirmation was already written.
    """
    return outbox.add_message(
        ORDER_CONFIRMATION,
        order.email,
        {"order_id": order.id, "order_url": order_url},
        key=f"{ORDER_CONFIRMATION}:{order.id}",
    )


def queue_status_mail(order: Order, status: str) -> OutboxMessage | None:
    """Write the mail about ``order`` reaching ``status`` to the outbox, in the caller's
    transaction (flushes; the caller commits, then a job sends it).

    Only the statuses of :data:`STATUS_SUBJECTS` have a mail; an order reaching one of them
    a second time (shipped again after a partial refund) writes nothing more, because the
    key ``order:<id>:<status>`` is taken.

    Returns:
        the outbox row, or None when nothing was written.
    """
    if status not in STATUS_SUBJECTS:
        return None
    key = status_key(order.id, status)
    if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key)) is not None:
        return None
    return outbox.add_message(
        ORDER_STATUS,
        order.email,
        {"order_id": order.id, "status": status, "base_url": current_app.config["SHOP_URL"]},
        key=key,
    )


@outbox.renderer(ORDER_CONFIRMATION)
def render_order_confirmation(msg: OutboxMessage) -> outbox.Mail | None:
    """The confirmation of the message's order, as the order stands; None if it is gone."""
    order = db.session.get(Order, msg.payload["order_id"])
    if order is None:
        return None
    order_url = msg.payload["order_url"]
    return confirmation_mail(order, order_link(order, _site_of(order_url, order.number)))


@outbox.renderer(ORDER_STATUS)
def render_order_status(msg: OutboxMessage) -> outbox.Mail | None:
    """The mail about the message's order reaching its status; None if the order is gone."""
    order = db.session.get(Order, msg.payload["order_id"])
    if order is None:
        return None
    link = order_link(order, msg.payload.get("base_url") or current_app.config["SHOP_URL"])
    return status_mail(order, msg.payload["status"], link)
