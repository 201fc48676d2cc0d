"""Refunds: what an order may still give back, giving it back, and settling it once.

A refund is recorded against an order under the order's row lock, so however many staff
refund the same order at once, the refunds that count (``pending`` and ``succeeded``)
never add up to more than was paid, nor a line's refunded units to more than it had.

- Manual and test orders: the money goes back outside the shop (a bank transfer, cash),
  so the refund is ``succeeded`` at once and settled in the same transaction.
- Card orders: the refund is ``pending``; after the commit the caller sends it to Stripe
  with :func:`submit_refund`. Stripe's answer or its webhook settles it
  (:func:`settle_provider_refund`), exactly once however often either arrives.

Settling puts the refunded units back in stock when asked (ledger reason ``refund``),
records an order event and moves the order to ``partially_refunded`` or ``refunded``.
Money is integer minor units of the order's currency throughout; the figures (what was
paid, what is left, what some units of a line cost) are in ``shop.payments.refund_figures``.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from shop import audit
from shop.catalog import stock
from shop.dbtypes import utcnow
from shop.exceptions import Conflict, NotFound
from shop.extensions import db
from shop.money import display_money
from shop.orders import services
from shop.orders.models import Order
from shop.orders.sales_marks import touch_orders
from shop.payments import stripe_gateway
from shop.payments.models import Payment, Refund
from shop.payments.refund_figures import (  # noqa: F401  (refundable and the plan are this module's too)
    COUNTED,
    REFUNDABLE_STATUSES,
    RefundPlan,
    lines_from_request,
    order_payments,
    order_refunds,
    paid_cents,
    plan_refund,
    preview_refund,
    refundable,
    refunds_of,
)

#: Stripe's refund statuses that end a refund, and the shop's status for each.
FINAL_PROVIDER_STATUSES = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}
#: Stripe's refund statuses that leave it waiting.
WAITING_PROVIDER_STATUSES = ("pending", "requires_action")


# --- Making a refund ----------------------------------------------------------------------------


def _lock_order(order_id: int) -> None:
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


def _card_payment(order: Order, amount_cents: int, refunds: list[Refund]) -> Payment:
    """The succeeded card payment (with its PaymentIntent) that still has ``amount_cents``.

    Raises:
        Conflict: no succeeded card payment, or none with that much left on it.
    """
    payments = [p for p in order_payments(order.id) if p.status == "succeeded" and p.provider_payment]
    if not payments:
        raise Conflict(f"Order {order.number} has no confirmed card payment to refund.")
    for payment in payments:
        taken = sum(r.amount_cents for r in refunds if r.payment_id == payment.id and r.status in COUNTED)
        if payment.amount_cents - taken >= amount_cents:
            return payment
    raise Conflict(
        f"No single card payment of order {order.number} has {display_money(amount_cents, order.currency)} left; "
        "refund it in smaller parts."
    )


def refund_order(
    order_id: int,
    *,
    lines: list[tuple[int, int]] | None,
    extra_cents: int = 0,
    restock: bool,
    actor_id: int | None,
    reason: str = "",
) -> Refund:
    """Give back money for some units of an order's lines and/or an amount (flushes; the
    caller commits).

    Each line's refund is what the shopper paid for those units: the line's
    ``unit_price_cents * quantity - discount_cents`` plus its ``tax_cents`` when the tax was
    added on top (not when ``prices_include_tax``), times the refunded units over the line's
    quantity, rounded half-up to the cent (see :func:`units_refund_cents`). ``extra_cents``
    is added on top (e.g. shipping), or is the whole refund when no line is given.

    The order's row is locked first, then the refunds that count (pending and succeeded)
    are summed, so concurrent refunds of one order can never together pass what was paid.
    A card order's refund is ``pending``: after committing, call :func:`submit_refund` with
    its id. Any other order's refund is ``succeeded`` at once and settled here
    (:func:`settle`: stock back if ``restock``, event, order status).

    Args:
        lines: ``(order_line_id, quantity)`` pairs; None or [] for an amount alone.
        extra_cents: cents on top of the lines, >= 0.
        restock: put the refunded units back in stock when the refund succeeds.
        actor_id: the staff member refunding.
        reason: a note kept on the refund and the order's event.
    Returns:
        The new :class:`Refund` (``pending`` for a card order, else ``succeeded``).
    Raises:
        NotFound: no such order (404).
        InvalidTransition: the order is not paid/shipped/delivered/partially refunded (409).
        ValidationFailed: a line not of this order, a negative figure, nothing to refund (422).
        Conflict: more units of a line or more money than is left to refund, or (card) no
            confirmed card payment to refund from (409).
    """
    _lock_order(order_id)
    order = services.get_order(order_id)
    refunds = order_refunds(order.id)
    plan = plan_refund(order, lines, extra_cents, refunds)
    card = order.payment_provider == "card"
    payment = _card_payment(order, plan.amount_cents, refunds) if card else None
    if payment is None:
        payment = next((p for p in order_payments(order.id) if p.status == "succeeded"), None)
    refund = Refund(
        order_id=order.id,
        payment_id=payment.id if payment is not None else None,
        amount_cents=plan.amount_cents,
        currency=order.currency,
        lines=plan.lines,
        restock=bool(restock),
        status="pending" if card else "succeeded",
        reason=(reason or "").strip()[:2000],
        actor_id=actor_id,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    db.session.add(refund)
    db.session.flush()
    audit.record(
        "refund.create",
        "order",
        order.id,
        order.number,
        audit.diff(
            {},
            {
                "refund_id": refund.id,
                **audit.snapshot(refund, ("amount_cents", "lines", "restock", "status")),
            },
        ),
        actor_id,
        refund.reason,
    )
    if not card:
        settle(refund, actor_id)
    return refund


def get_refund(refund_id: int) -> Refund:
    """The refund with this id, freshly read.

    Raises:
        NotFound: no such refund.
    """
    refund = db.session.get(Refund, refund_id, populate_existing=True)
    if refund is None:
        raise NotFound("No such refund.")
    return refund


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
    refund, when it becomes succeeded (:func:`refund_order` and
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


# --- Card refunds: Stripe -------------------------------------------------------------------------


def _mark_failed(refund_id: int, why: str) -> bool:
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


def submit_refund(refund_id: int) -> Refund:
    """Send a pending card refund to Stripe; call it after committing :func:`refund_order`.

    Unlike other services this one commits, in transactions of its own: nothing is held
    while Stripe answers, and a refusal must stay recorded although the call raises. The
    shop's refund id is Stripe's idempotency key, so a retry never refunds twice. Stripe's
    refund id is kept in ``provider_reference``; when Stripe answers with a final status
    (often ``succeeded`` at once) the refund is settled here through
    :func:`settle_provider_refund`, so it does not wait for the webhook (which then changes
    nothing). A refund that is not pending, or already sent, is returned unchanged.

    Returns:
        The refund as it is after Stripe's answer.
    Raises:
        NotFound: no such refund.
        GatewayError: Stripe refused or could not be reached (502); the refund is then
            ``failed``, no longer counts against what is left, and the order notes why.
    """
    refund = db.session.get(Refund, refund_id, populate_existing=True)
    if refund is None:
        raise NotFound("No such refund.")
    if refund.status != "pending" or refund.provider_reference:
        return refund
    payment = refund.payment
    order_number = db.session.scalar(select(Order.number).where(Order.id == refund.order_id))
    amount = refund.amount_cents
    db.session.commit()  # end the read: no lock or snapshot is held while Stripe answers
    try:
        if payment is None or not payment.provider_payment:
            raise stripe_gateway.GatewayError("The order has no card payment to refund.")
        answer = stripe_gateway.create_refund(
            payment_intent=payment.provider_payment,
            amount_cents=amount,
            refund_id=refund_id,
            order_number=order_number,
        )
    except stripe_gateway.GatewayError as exc:
        _mark_failed(refund_id, exc.detail)
        db.session.commit()
        raise
    reference, status = str(answer["id"]), str(answer["status"])
    db.session.execute(
        update(Refund)
        .where(Refund.id == refund_id, Refund.provider_reference == "")
        .values(provider_reference=reference, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if status in FINAL_PROVIDER_STATUSES:
        settle_provider_refund(reference, status)
        db.session.commit()
    refund = db.session.get(Refund, refund_id, populate_existing=True)
    if refund.status == "failed":
        raise stripe_gateway.GatewayError(f"The card payment service refused the refund ({status}).")
    return refund


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
    _lock_order(refund.order_id)  # settles of one order's refunds queue up, as refunds do
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
        _mark_failed(refund.id, f"the card payment service answered {status}.")
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
