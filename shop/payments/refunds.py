"""Refunds: what an order may still give back, giving it back, and settling it once.

A refund is recorded against an order under the order's row lock, so however many staff
refund the same order at once, the refunds that count (``pending`` and ``succeeded``)
never add up to more than was paid, nor a line's refunded units to more than it had.

- Manual and test orders: the money goes back outside the shop (a bank transfer, cash),
  so the refund is ``succeeded`` at once and settled in the same transaction.
- Card orders: the refund is ``pending``; after the commit the caller sends it to Stripe
  with :func:`submit_refund`. Stripe's answer or its webhook settles it
  (:func:`~shop.payments.refund_settlement.settle_provider_refund`), exactly once however
  often either arrives.

Settling puts the refunded units back in stock when asked (ledger reason ``refund``),
records an order event and moves the order to ``partially_refunded`` or ``refunded``.
Money is integer minor units of the order's currency throughout; the figures (what was
paid, what is left, what some units of a line cost) are in ``shop.payments.refund_figures``.
"""

from __future__ import annotations

from sqlalchemy import select, update

from shop import audit
from shop.dbtypes import utcnow
from shop.exceptions import Conflict, NotFound
from shop.extensions import db
from shop.money import display_money
from shop.orders import services
from shop.orders.models import Order
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
from shop.payments.refund_settlement import (  # noqa: F401  (settling is this module's too)
    FINAL_PROVIDER_STATUSES,
    describe_refund,
    lock_order,
    mark_failed,
    settle,
    settle_provider_refund,
)

# --- Making a refund ----------------------------------------------------------------------------


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
    lock_order(order_id)
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


# --- Card refunds: Stripe -------------------------------------------------------------------------


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
        mark_failed(refund_id, exc.detail)
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
