"""Finding orders: by id, by public number (a customer's, a guest's with the e-mail), the
customer's and the staff's lists; making and reading order numbers; status labels."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from shop.exceptions import NotFound, ValidationFailed
from shop.extensions import db
from shop.orders.models import ORDER_STATUSES, Order

#: Status names for people.
STATUS_LABELS = {
    "pending_payment": "Waiting for payment",
    "paid": "Paid",
    "shipped": "Shipped",
    "delivered": "Delivered",
    "cancelled": "Cancelled",
    "partially_refunded": "Partially refunded",
    "refunded": "Refunded",
}

#: Bootstrap colour of each status badge.
STATUS_COLOURS = {
    "pending_payment": "warning",
    "paid": "info",
    "shipped": "primary",
    "delivered": "success",
    "cancelled": "secondary",
    "partially_refunded": "dark",
    "refunded": "dark",
}

# Crockford's base32 alphabet: no I, L, O or U, so numbers read aloud without confusion.
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_NUMBER_RE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


def new_order_number() -> str:
    """A random public order number like ``7KQ4-M2XD-9PWA`` (60 bits from ``secrets``).

    Numbers are not sequential, so one order's number says nothing about another's.
    """
    raw = "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalize_order_number(text: str) -> str:
    """Canonical form of a typed order number (upper case, dashes restored); '' if malformed."""
    raw = re.sub(r"[\s-]", "", (text or "")).upper()
    if len(raw) != 12:
        return ""
    number = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
    return number if _NUMBER_RE.match(number) else ""


def status_label(status: str) -> str:
    """Human label of a status."""
    return STATUS_LABELS.get(status, status)


def _with_children(stmt: Select) -> Select:
    """Load lines and events with the orders."""
    return stmt.options(selectinload(Order.lines), selectinload(Order.events))


def get_order(order_id: int) -> Order:
    """The order with this id, freshly read.

    Raises:
        NotFound: no such order.
    """
    order = db.session.scalar(
        _with_children(select(Order).where(Order.id == order_id)).execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound("No such order.")
    return order


def get_order_by_number(number: str) -> Order:
    """The order with this public number (any owner; for staff).

    Raises:
        NotFound: no such order.
    """
    order = db.session.scalar(_with_children(select(Order).where(Order.number == number)))
    if order is None:
        raise NotFound("No such order.")
    return order


def get_user_order(number: str, user_id: int) -> Order:
    """The user's own order with this number.

    Raises:
        NotFound: no such order, or it belongs to someone else (indistinguishable on purpose).
    """
    order = db.session.scalar(
        _with_children(select(Order).where(Order.number == number, Order.user_id == user_id))
    )
    if order is None:
        raise NotFound("No such order.")
    return order


def find_guest_order(number: str, email: str) -> Order:
    """A guest's order by number and the e-mail address given at checkout.

    Raises:
        NotFound: the number and e-mail do not match one order (same message either way).
    """
    number = normalize_order_number(number)
    email = (email or "").strip().lower()
    order = None
    if number and email:
        order = db.session.scalar(
            _with_children(select(Order).where(Order.number == number, Order.user_id.is_(None)))
        )
    if order is None or order.email.lower() != email:
        raise NotFound("No order matches that number and e-mail address.")
    return order


def user_orders(user_id: int) -> Select:
    """A select of the user's orders, newest first (for views to paginate)."""
    return select(Order).where(Order.user_id == user_id).order_by(Order.created_at.desc(), Order.id.desc())


def staff_orders(status: str | None = None, query: str = "") -> Select:
    """A select of all orders, newest first, optionally by status and number/e-mail text.

    Raises:
        ValidationFailed: unknown status.
    """
    stmt = select(Order).order_by(Order.created_at.desc(), Order.id.desc())
    if status:
        if status not in ORDER_STATUSES:
            raise ValidationFailed(
                "Unknown status.", {"status": [f"Must be one of {', '.join(ORDER_STATUSES)}."]}
            )
        stmt = stmt.where(Order.status == status)
    query = (query or "").strip()
    if query:
        stmt = stmt.where(
            or_(Order.number.icontains(query, autoescape=True), Order.email.icontains(query, autoescape=True))
        )
    return stmt
