"""Settling refunds: what a ``succeeded`` refund does to the order (stock, event, status),
and Stripe's word on a card refund (its answer or its webhook) applied exactly once however
often it arrives. Money is integer minor units of the order's currency.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from shop.catalog import stock
from shop.dbtypes import utcnow
from shop.exceptions import NotFound
from shop.extensions import db
from shop.money import display_money
from shop.orders import services
from shop.orders.models import Order
from shop.orders.sales_marks import touch_orders
from shop.payments.models import Refund
from shop.payments.refund_figures import paid_cents

#: Stripe's refund statuses that end a refund, and the shop's status for each.
FINAL_PROVIDER_STATUSES = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}
#: Stripe's refund statuses that leave it waiting.
WAITING_PROVIDER_STATUSES = ("pending", "requires_action")


def lock_order(order_id: int) -> None:
    """Take the order's write lock by touching ``updated_at`` (flushes first).

    An UPDATE rather than ``SELECT ... FOR UPDATE`` (as ``shop.orders.cart.lock_cart``):
    PostgreSQL locks the row until the commit and SQLite takes its write lock, so refunds of
    one order queue up here and each one sees the refunds committed before it.

    Raises:
        NotFound: no such order.
    """
    db.session.flush()
    result = db.session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise NotFound("No such order.")


def describe_refund(refund: Refund) -> str:
    """The refund in a few words, e.g. ``Refund #3 of $21.20: 2 × SKU1, $5.00 extra; back in stock.``"""
    parts = [f"{item['quantity']} × {item['sku']}" for item in refund.lines or []]
    extra = refund.amount_cents - sum(int(item["amount_cents"]) for item in refund.lines or [])
    if extra:
        parts.append(f"{display_money(extra, refund.currency)} {'extra' if refund.lines else 'amount'}")
    text = f"Refund #{refund.id} of {display_money(refund.amount_cents, refund.currency)}: {', '.join(parts)}"
    if refund.restock and refund.lines:
        text += "; items back in stock"
    return text + "."


def settle(refund: Refund, actor_id: int | None = None) -> None:
    """Carry out what a ``succeeded`` refund means for the order (flushes); call it once per
    refund, when it becomes succeeded (:func:`shop.payments.refunds.refund_order` and
    :func:`settle_provider_refund` do, each behind a guard that lets it happen only once).

    Puts the refunded units back in stock when ``refund.restock`` (one ledger row with reason
    ``refund`` per line, in product-id order), records an order event, and moves the order to
    ``refunded`` once its succeeded refunds reach what was paid, else to
    ``partially_refunded``; an order already in that status keeps it, with an event noting
    the refund.

    Args:
        actor_id: who settled it (the staff member, or None for the card provider's word).
    """
    order = services.get_order(refund.order_id)
    if refund.restock:
        lines = {line.id: line for line in order.lines}
        items = [(lines.get(int(item["line_id"])), int(item["quantity"])) for item in refund.lines or []]
        for line, quantity in sorted(
            (pair for pair in items if pair[0] is not None and pair[0].product_id is not None),
            key=lambda pair: pair[0].product_id,
        ):
            stock.release(
                line.product_id,
                quantity,
                order.id,
                refund.actor_id,
                note=f"Refund #{refund.id} of order {order.number}",
                reason="refund",
            )
    db.session.flush()
    succeeded = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
            Refund.order_id == order.id, Refund.status == "succeeded"
        )
    )
    target = "refunded" if int(succeeded) >= paid_cents(order) else "partially_refunded"
    note = describe_refund(refund)
    if refund.reason:
        note += f" Reason: {refund.reason}"
    if order.status != target and target in services.allowed_transitions(order.status, by_refund=True):
        services.transition_order(order.id, target, actor_id, note, by_refund=True)
    else:
        services.note_on_order(order, actor_id, note)


def mark_failed(refund_id: int, why: str) -> bool:
    """Turn a pending refund into ``failed`` (it no longer counts) and note it on the order.

    Returns:
        False when the refund was no longer pending (nothing changed).
    """
    result = db.session.execute(
        update(Refund)
        .where(Refund.id == refund_id, Refund.status == "pending")
        .values(status="failed", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    refund = db.session.get(Refund, refund_id, populate_existing=True)
    order = services.get_order(refund.order_id)
    services.note_on_order(
        order,
        None,
        f"Refund #{refund.id} of {display_money(refund.amount_cents, refund.currency)} failed: {why}"[:2000],
    )
    return True


def _provider_refund(provider_reference: str, refund_id: int | None) -> Refund | None:
    """The refund Stripe calls ``provider_reference``; failing that, the refund ``refund_id``
    if no Stripe id was stored on it yet (then this one is stored). None if neither."""
    if not provider_reference:
        return None
    refund = db.session.scalar(select(Refund).where(Refund.provider_reference == provider_reference))
    if refund is None and refund_id is not None:
        claimed = db.session.execute(
            update(Refund)
            .where(Refund.id == refund_id, Refund.provider_reference == "")
            .values(provider_reference=provider_reference)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            refund = db.session.get(Refund, refund_id, populate_existing=True)
    return refund


def _flag_late_failure(refund: Refund, status: str) -> None:
    """Stripe says a refund it had confirmed failed after all: staff must look (the stock
    and the order's status already moved, so nothing is undone automatically)."""
    _flag(
        refund,
        f"Stripe reported refund #{refund.id} as {status} after it had succeeded; "
        "check with Stripe whether the money went back.",
    )


def _flag_late_success(refund: Refund) -> None:
    """Stripe says a refund the shop had recorded as failed (its answer was lost) went
    through: the money went back but the shop did not count it; staff must look."""
    _flag(
        refund,
        f"Stripe reported refund #{refund.id} as succeeded after the shop had recorded it as "
        "failed; the money went back: record it (or refund less) before refunding again.",
    )


def _flag(refund: Refund, message: str) -> None:
    """Add a reason for staff to look at the refund's order."""
    order = services.get_order(refund.order_id)
    order.attention = f"{order.attention}\n{message}".strip()
    db.session.flush()


def settle_provider_refund(provider_reference: str, status: str, *, refund_id: int | None = None) -> str:
    """Apply Stripe's word on a refund (from its webhook or its answer); flushes, the caller
    commits. Safe to call any number of times: only the first ``succeeded`` settles.

    Args:
        provider_reference: Stripe's refund id (``re_...``).
        status: Stripe's refund status: ``succeeded`` settles a pending refund (stock,
            event, order status: :func:`settle`); ``failed``/``canceled`` mark it
            ``failed``; ``pending``/``requires_action`` change nothing.
        refund_id: the shop's refund id from the refund's metadata, to find a refund whose
            Stripe id was not stored yet (the webhook came before Stripe's answer was kept).
    Returns:
        A short outcome for the event log, e.g. ``"refund 3 settled"``, ``"ignored: ..."``.
    """
    refund = _provider_refund(provider_reference, refund_id)
    if refund is None:
        return f"ignored: no refund {provider_reference or '(no id)'}"
    if status in WAITING_PROVIDER_STATUSES:
        return f"refund {refund.id} still {status}"
    if status not in FINAL_PROVIDER_STATUSES:
        return f"ignored: unknown refund status {status!r}"
    lock_order(refund.order_id)  # settles of one order's refunds queue up, as refunds do
    db.session.refresh(refund)
    new_status = FINAL_PROVIDER_STATUSES[status]
    if refund.status != "pending":
        if refund.status == "succeeded" and new_status == "failed":
            _flag_late_failure(refund, status)
            return f"refund {refund.id} was succeeded, now {status}: order flagged"
        if refund.status == "failed" and new_status == "succeeded":
            _flag_late_success(refund)
            return f"refund {refund.id} was failed, now succeeded: order flagged"
        return f"refund {refund.id} already {refund.status}"
    if new_status == "failed":
        mark_failed(refund.id, f"the card payment service answered {status}.")
        return f"refund {refund.id} failed"
    result = db.session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.status == "pending")
        .values(status="succeeded", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # pragma: no cover - the order lock makes this unreachable
        return f"refund {refund.id} already settled"
    touch_orders(db.session, [refund.order_id])  # the refund now counts in the sales figures
    db.session.refresh(refund)
    settle(refund, None)
    return f"refund {refund.id} settled"
