"""Order lifecycle: status transitions (guarded in one place) and their events; the
look-ups (by id, number, customer, staff filters) and order numbers are in
:mod:`shop.orders.lookups`, re-exported here.

    pending_payment -> paid -> shipped -> delivered
    pending_payment | paid -> cancelled

Every transition goes through :func:`transition_order`: it checks the lifecycle, changes
the status with a conditional ``UPDATE ... WHERE status = :from`` checked by row count
(so two concurrent requests cannot both move the order from the same state), records an
:class:`OrderEvent`, and on cancellation puts the stock back through the ledger. Because
only the request whose UPDATE matched goes on to release stock, stock returns exactly
once however many cancels race.

A move to shipped records the carrier and tracking number (:class:`Shipment`) and when it
happened. Every move the customer should hear about (paid, shipped, cancelled) writes its
mail to the outbox in the same transaction (``orders/notifications.py``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import update

from shop import audit
from shop.catalog import stock
from shop.dbtypes import utcnow
from shop.exceptions import InvalidTransition, ValidationFailed
from shop.extensions import db
from shop.orders import notifications
from shop.orders.lookups import (  # noqa: F401  (the look-ups are this module's too)
    STATUS_COLOURS,
    STATUS_LABELS,
    find_guest_order,
    get_order,
    get_order_by_number,
    get_user_order,
    new_order_number,
    normalize_order_number,
    staff_orders,
    status_label,
    user_orders,
)
from shop.orders.models import ORDER_STATUSES, Order, OrderEvent
from shop.orders.sales_marks import crosses_paid, touch_orders
from shop.pricing import discounts

#: Allowed moves: from status -> statuses it may go to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending_payment": ("paid", "cancelled"),
    "paid": ("shipped", "cancelled", "partially_refunded", "refunded"),
    "shipped": ("delivered", "partially_refunded", "refunded"),
    "delivered": ("partially_refunded", "refunded"),
    "partially_refunded": ("shipped", "delivered", "refunded"),
    "refunded": (),
    "cancelled": (),
}

#: Statuses only a refund moves an order to (``shop.payments.refunds``), never a status form.
REFUND_STATUSES = ("partially_refunded", "refunded")


def allowed_transitions(status: str, by_refund: bool = False) -> tuple[str, ...]:
    """Statuses an order in ``status`` may move to; the refund statuses only ``by_refund``."""
    moves = TRANSITIONS.get(status, ())
    return moves if by_refund else tuple(m for m in moves if m not in REFUND_STATUSES)


# --- Transitions ------------------------------------------------------------------------------

#: Longest carrier name and tracking number (the columns' sizes).
CARRIER_MAX_LENGTH = 50
TRACKING_MAX_LENGTH = 100


@dataclass(frozen=True)
class Shipment:
    """How a parcel travels: the carrier's name and its tracking number, as typed by staff."""

    carrier: str = ""
    tracking_number: str = ""

    def checked(self) -> Shipment:
        """The shipment with blanks trimmed, if both parts are there and fit.

        Raises:
            ValidationFailed: a part is blank or too long (``errors`` keyed ``carrier`` and
                ``tracking_number``).
        """
        carrier, tracking = (self.carrier or "").strip(), (self.tracking_number or "").strip()
        errors: dict[str, list[str]] = {}
        for field, value, longest in (
            ("carrier", carrier, CARRIER_MAX_LENGTH),
            ("tracking_number", tracking, TRACKING_MAX_LENGTH),
        ):
            if not value:
                errors[field] = ["Required when the order is marked shipped."]
            elif len(value) > longest:
                errors[field] = [f"At most {longest} characters."]
        if errors:
            raise ValidationFailed("Give the carrier and the tracking number of the parcel.", errors)
        return Shipment(carrier, tracking)


def record_event(
    order: Order, from_status: str | None, to_status: str, actor_id: int | None, note: str = ""
) -> OrderEvent:
    """Add an event row for a status change (flushes)."""
    event = OrderEvent(
        order_id=order.id,
        from_status=from_status,
        to_status=to_status,
        actor_id=actor_id,
        note=(note or "").strip()[:2000],
        created_at=utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    return event


def note_on_order(order: Order, actor_id: int | None, note: str) -> OrderEvent:
    """Record something that happened to an order without changing its status (an event
    from its status to the same status, e.g. a second partial refund). Flushes."""
    return record_event(order, order.status, order.status, actor_id, note)


def transition_order(
    order_id: int,
    to_status: str,
    actor_id: int | None,
    note: str = "",
    *,
    allowed_from: Collection[str] | None = None,
    by_refund: bool = False,
    shipment: Shipment | None = None,
) -> Order:
    """Move an order to ``to_status`` if the lifecycle allows it; record the event.

    Cancelling releases every line's stock back through the ledger and gives back the
    order's discount code use (once: :func:`shop.pricing.discounts.release`). The status change is a
    conditional UPDATE checked by row count, so of two concurrent transitions from the same
    state only one succeeds; the other gets :class:`InvalidTransition`.

    Args:
        actor_id: who did it (None for the system or a guest).
        allowed_from: further restrict the states the order may leave (e.g. shoppers may
            cancel only while ``pending_payment``).
        by_refund: a refund is moving the order (only then are :data:`REFUND_STATUSES`
            allowed).
        shipment: for a move to shipped, the carrier and tracking number, both required
            (staff pages and the API always pass one; None records none, for moves made
            by code); ignored for other moves.
    Returns:
        The order, with its new status and events loaded; the customer's mail about the
        move (paid, shipped, cancelled) is in the outbox, to go after the commit.
    Raises:
        ValidationFailed: ``to_status`` is not a status, or a shipment lacks its carrier
            or tracking number (checked after the lifecycle: a move that is not allowed
            is :class:`InvalidTransition` whatever the shipment).
        NotFound: no such order.
        InvalidTransition: the move is not allowed from the order's current status (409).
    """
    if to_status not in ORDER_STATUSES:
        raise ValidationFailed(
            f"Unknown status {to_status!r}.", {"to": [f"Must be one of {', '.join(ORDER_STATUSES)}."]}
        )
    order = get_order(order_id)
    from_status = order.status
    if to_status not in allowed_transitions(from_status, by_refund) or (
        allowed_from is not None and from_status not in allowed_from
    ):
        raise InvalidTransition(_refusal(order, to_status))
    extra = {}
    if to_status == "shipped":
        extra["shipped_at"] = utcnow()
        if shipment is not None:
            shipment = shipment.checked()
            extra.update(carrier=shipment.carrier, tracking_number=shipment.tracking_number)
    _move(order, from_status, to_status, extra)
    record_event(order, from_status, to_status, actor_id, note)
    audit.record(
        "order.transition",
        "order",
        order.id,
        order.number,
        {"status": [from_status, to_status]},
        actor_id,
        note,
        staff_only=True,
    )
    if to_status == "cancelled":
        _release_stock(order, actor_id)
        discounts.release(order.id)
    db.session.expire(order, ["events"])
    notifications.queue_status_mail(order, to_status)
    return order


def _move(order: Order, from_status: str, to_status: str, extra: dict | None = None) -> None:
    """Set the status (and the ``extra`` columns) with a conditional UPDATE (only from
    ``from_status``).

    Raises:
        InvalidTransition: someone else moved the order first (reported in its state now).
    """
    result = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == from_status)
        .values(status=to_status, updated_at=utcnow(), **(extra or {}))
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InvalidTransition(_refusal(get_order(order.id), to_status, changed=True))
    if crosses_paid(from_status, to_status):
        touch_orders(db.session, [order.id])
    db.session.expire(order, ["status", "updated_at", *(extra or {})])


def _release_stock(order: Order, actor_id: int | None) -> None:
    """Give every line's stock back through the ledger, in product-id order (no deadlocks)."""
    for line in sorted(order.lines, key=lambda ln: ln.product_id or 0):
        if line.product_id is not None:
            stock.release(
                line.product_id, line.quantity, order.id, actor_id, note=f"Order {order.number} cancelled"
            )


def _refusal(order: Order, to_status: str, changed: bool = False) -> str:
    """The message for a refused transition."""
    now = status_label(order.status).lower()
    verb = {
        "cancelled": "cancelled",
        "paid": "marked paid",
        "shipped": "marked shipped",
        "delivered": "marked delivered",
    }.get(to_status, f"moved to {status_label(to_status).lower()}")
    prefix = "It changed meanwhile: " if changed else ""
    return f"{prefix}Order {order.number} is {now} and cannot be {verb}."


def cancel_order(order_id: int, actor_id: int | None, note: str = "", *, staff: bool = False) -> Order:
    """Cancel an order and put its stock back (exactly once).

    Shoppers may cancel only while the order waits for payment; staff may cancel any
    order that is pending payment or paid.

    Raises:
        NotFound: no such order.
        InvalidTransition: not cancellable now (by this kind of user).
    """
    if staff:
        return transition_order(order_id, "cancelled", actor_id, note)
    order = get_order(order_id)
    if order.status == "paid":
        raise InvalidTransition(
            f"Order {order.number} has been paid and can no longer be cancelled online; "
            "please contact us to cancel it."
        )
    return transition_order(
        order_id,
        "cancelled",
        actor_id,
        note or "Cancelled by the customer.",
        allowed_from=("pending_payment",),
    )


# --- Plain words for shoppers -----------------------------------------------------------------


def describe_event(event: OrderEvent, order: Order) -> str:
    """One sentence a shopper understands, e.g. 'Payment received.'"""
    to = event.to_status
    if event.from_status is None:
        return "Order placed."
    if to == "paid":
        return "Payment received."
    if to == "shipped":
        return "Your order is on its way."
    if to == "delivered":
        return "Delivered."
    if to == "refunded":
        return "Refunded in full."
    if to == "partially_refunded":
        return "Part of your order was refunded."
    if to == "cancelled":
        if event.actor_id is not None and event.actor_id != order.user_id:
            return "Cancelled by the shop; the items went back into stock."
        return "Cancelled at your request."
    return f"Status changed to {status_label(to).lower()}."
