"""Refund figures: what an order's lines cost the shopper, what was paid, what is refunded
or on its way back, and the plan of a refund checked against what is left.

Pure reads (no write, no lock): :mod:`shop.payments.refunds` plans every refund here again
under the order's row lock. Money is integer minor units of the order's currency.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Select, func, select

from shop.exceptions import Conflict, InvalidTransition, NotFound, ValidationFailed
from shop.extensions import db
from shop.money import display_money
from shop.orders import services
from shop.orders.models import Order, OrderLine
from shop.payments.models import Payment, Refund
from shop.pricing.arithmetic import round_half_up

#: Order statuses in which the money is in (an order without a payment row is paid in full).
PAID_STATUSES = ("paid", "shipped", "delivered", "partially_refunded", "refunded")
#: Order statuses from which a refund may be made.
REFUNDABLE_STATUSES = ("paid", "shipped", "delivered", "partially_refunded")
#: Refund statuses that count against what may still be refunded.
COUNTED = ("pending", "succeeded")


# --- Figures ------------------------------------------------------------------------------------


def line_paid_cents(line: OrderLine, order: Order) -> int:
    """What the shopper paid for a whole line, in cents: its units less its share of the
    discount, plus its tax when the tax was added on top (``prices_include_tax`` false)."""
    tax = 0 if order.prices_include_tax else line.tax_cents
    return line.unit_price_cents * line.quantity - line.discount_cents + tax


def _share(line: OrderLine, order: Order, units: int) -> int:
    """What the first ``units`` units of a line cost the shopper: the line's paid amount
    times ``units / quantity``, rounded half-up to the cent."""
    return round_half_up(line_paid_cents(line, order) * units, line.quantity)


def units_refund_cents(line: OrderLine, order: Order, already: int, units: int) -> int:
    """What refunding ``units`` more units of a line gives back when ``already`` were refunded.

    It is ``share(already + units) - share(already)``, where ``share(n)`` is the line's paid
    amount times ``n / quantity`` rounded half-up, so that a line refunded piece by piece
    adds up to exactly what it cost, never a cent more or less than refunding it at once
    (a 200-cent line of 3 units gives back 67, 66 and 67).
    """
    return _share(line, order, already + units) - _share(line, order, already)


def paid_cents(order: Order) -> int:
    """What was paid for the order, in cents: the sum of its ``succeeded`` payments; for an
    order paid without a payment row (not a card order: manual or test, marked paid by staff
    or paid at once) its ``total_cents`` while its status says it is paid; else 0."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Payment.amount_cents), 0)).where(
            Payment.order_id == order.id, Payment.status == "succeeded"
        )
    )
    if total:
        return int(total)
    if order.payment_provider != "card" and order.status in PAID_STATUSES:
        return order.total_cents
    return 0


def refunds_of(order_id: int) -> Select:
    """A select of an order's refunds, oldest first, failed ones included (for pagination)."""
    return select(Refund).where(Refund.order_id == order_id).order_by(Refund.id)


def order_refunds(order_id: int) -> list[Refund]:
    """Every refund of an order, oldest first (failed ones included)."""
    return list(db.session.scalars(refunds_of(order_id)))


def order_payments(order_id: int) -> list[Payment]:
    """Every payment attempt of an order, oldest first."""
    return list(db.session.scalars(select(Payment).where(Payment.order_id == order_id).order_by(Payment.id)))


def _refunded_units(refunds: list[Refund]) -> Counter:
    """Units refunded per order line id by the refunds that count."""
    units: Counter = Counter()
    for refund in refunds:
        if refund.status in COUNTED:
            for item in refund.lines or []:
                units[int(item["line_id"])] += int(item["quantity"])
    return units


def refundable(order: Order) -> dict:
    """What was paid for an order, what is refunded or on its way back, and what is left.

    Returns:
        ``{"currency", "paid_cents", "refunded_cents" (succeeded refunds), "pending_cents"
        (refunds waiting for the provider), "left_cents" (paid less both), "lines": [{"line_id",
        "sku", "name", "quantity", "paid_cents" (the whole line), "refunded_quantity" (pending
        and succeeded), "left_quantity"}]}``, amounts in cents of ``currency``.
    """
    refunds = order_refunds(order.id)
    succeeded = sum(r.amount_cents for r in refunds if r.status == "succeeded")
    pending = sum(r.amount_cents for r in refunds if r.status == "pending")
    paid = paid_cents(order)
    units = _refunded_units(refunds)
    return {
        "currency": order.currency,
        "paid_cents": paid,
        "refunded_cents": succeeded,
        "pending_cents": pending,
        "left_cents": max(paid - succeeded - pending, 0),
        "lines": [
            {
                "line_id": line.id,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "paid_cents": line_paid_cents(line, order),
                "refunded_quantity": units[line.id],
                "left_quantity": max(line.quantity - units[line.id], 0),
            }
            for line in order.lines
        ],
    }


# --- Planning a refund --------------------------------------------------------------------------


@dataclass
class RefundPlan:
    """What a refund would give back: ``amount_cents`` in all, ``lines`` as stored on the
    refund (``[{"line_id", "sku", "quantity", "amount_cents"}]``) and ``extra_cents`` on top."""

    amount_cents: int
    extra_cents: int
    currency: str
    lines: list[dict] = field(default_factory=list)


def _money(cents: int, order: Order) -> str:
    return display_money(cents, order.currency)


def _check_status(order: Order) -> None:
    """Raises InvalidTransition unless the order is in a status a refund may be made from."""
    if order.status in REFUNDABLE_STATUSES:
        return
    why = {
        "pending_payment": "has not been paid yet, so there is nothing to refund",
        "cancelled": "is cancelled; there is nothing to refund",
        "refunded": "is already refunded in full; nothing is left to refund",
    }.get(order.status, f"is {services.status_label(order.status).lower()}")
    raise InvalidTransition(f"Order {order.number} {why}.")


def _merge_lines(lines: list[tuple[int, int]] | None) -> dict[int, int]:
    """``{line_id: quantity}`` from ``(line_id, quantity)`` pairs (repeats add up, zeros drop).

    Raises:
        ValidationFailed: a negative quantity.
    """
    merged: dict[int, int] = {}
    for line_id, quantity in lines or []:
        if quantity < 0:
            raise ValidationFailed(
                "A quantity to refund cannot be negative.", {f"lines.{line_id}": ["Must be 0 or more."]}
            )
        if quantity:
            merged[int(line_id)] = merged.get(int(line_id), 0) + int(quantity)
    return merged


def plan_refund(
    order: Order, lines: list[tuple[int, int]] | None, extra_cents: int, refunds: list[Refund] | None = None
) -> RefundPlan:
    """Work out and check a refund of ``lines`` (``(order_line_id, quantity)``) plus
    ``extra_cents`` against what is left of the order, without writing anything.

    Args:
        refunds: the order's refunds (read here when not given).
    Raises:
        InvalidTransition: the order is not paid, or already refunded in full (409).
        ValidationFailed: a line that is not the order's, a negative quantity or amount, or
            nothing asked for (422).
        Conflict: more units of a line than are left to refund, more money than is left of
            what was paid (409, amounts in words), or units that cost nothing alone.
    """
    _check_status(order)
    if extra_cents < 0:
        raise ValidationFailed(
            "The extra amount cannot be negative.", {"extra_cents": ["Must be 0 or more."]}
        )
    wanted = _merge_lines(lines)
    by_id = {line.id: line for line in order.lines}
    strangers = [line_id for line_id in wanted if line_id not in by_id]
    if strangers:
        raise ValidationFailed(
            f"Order {order.number} has no line {strangers[0]}.",
            {f"lines.{line_id}": ["Not a line of this order."] for line_id in strangers},
        )
    if not wanted and not extra_cents:
        raise ValidationFailed(
            "Choose at least one item or an amount to refund.",
            {"lines": ["Choose at least one item or an amount to refund."]},
        )
    refunds = order_refunds(order.id) if refunds is None else refunds
    units = _refunded_units(refunds)
    plan = RefundPlan(amount_cents=extra_cents, extra_cents=extra_cents, currency=order.currency)
    too_many = {}
    for line in order.lines:  # in the order's line order, whatever order they were asked in
        quantity = wanted.get(line.id)
        if not quantity:
            continue
        left = line.quantity - units[line.id]
        if quantity > left:
            too_many[f"lines.{line.id}"] = [f"{line.sku}: only {left} of {line.quantity} left to refund."]
            continue
        cents = units_refund_cents(line, order, units[line.id], quantity)
        plan.lines.append({"line_id": line.id, "sku": line.sku, "quantity": quantity, "amount_cents": cents})
        plan.amount_cents += cents
    if too_many:
        raise Conflict(
            "More units than are left to refund: " + " ".join(m for ms in too_many.values() for m in ms),
            too_many,
        )
    if plan.amount_cents <= 0:
        raise Conflict(
            "These items cost the shopper nothing, so there is nothing to refund; add an amount.",
            {"extra_cents": ["Add an amount to refund."]},
        )
    paid = paid_cents(order)
    taken = sum(r.amount_cents for r in refunds if r.status in COUNTED)
    if plan.amount_cents > paid - taken:
        left = max(paid - taken, 0)
        raise Conflict(
            f"Refunding {_money(plan.amount_cents, order)} would give back more than was paid: "
            f"{_money(paid, order)} paid, {_money(taken, order)} already refunded or on its way back, "
            f"so at most {_money(left, order)} is left to refund.",
            {"amount_cents": [f"At most {_money(left, order)}."]},
        )
    return plan


def preview_refund(order_id: int, lines: list[tuple[int, int]] | None, extra_cents: int = 0) -> RefundPlan:
    """What :func:`refund_order` would give back now (for a confirmation step). No lock and
    no write: the real refund checks everything again under the order's lock.

    Raises:
        NotFound, and as :func:`plan_refund`.
    """
    return plan_refund(services.get_order(order_id), lines, extra_cents)


def lines_from_request(order: Order, items: list[dict]) -> list[tuple[int, int]]:
    """``(order_line_id, quantity)`` pairs from request items naming a line by ``sku`` or
    ``line_id`` (``[{"sku" | "line_id", "quantity"}]``).

    Raises:
        NotFound: an item names no line of this order (404, as an unknown SKU is elsewhere in
            the API; ``errors`` has ``lines.<index>.sku`` or ``lines.<index>.line_id``).
    """
    by_sku = {line.sku: line.id for line in order.lines}
    ids = {line.id for line in order.lines}
    pairs, errors = [], {}
    for index, item in enumerate(items):
        if "line_id" in item:
            if item["line_id"] not in ids:
                errors[f"lines.{index}.line_id"] = ["Not a line of this order."]
                continue
            pairs.append((item["line_id"], item["quantity"]))
        elif item.get("sku") in by_sku:
            pairs.append((by_sku[item["sku"]], item["quantity"]))
        else:
            errors[f"lines.{index}.sku"] = ["Not a SKU of this order."]
    if errors:
        raise NotFound(f"Order {order.number} has no such line.", errors)
    return pairs
