"""Factories for refund tests: paid orders with chosen figures, and card payments.

Plain functions that add rows and flush, as ``tests/factories.py``. The orders are written
directly (not through checkout) so that each line's discount and tax are the figures a
test works out by hand.
"""

from __future__ import annotations

from shop.extensions import db
from shop.orders.models import Order, OrderEvent, OrderLine
from shop.orders.services import new_order_number
from shop.payments.models import Payment
from tests.factories import ADDRESS


def make_paid_order(
    lines: list[tuple],
    *,
    user=None,
    provider: str = "manual",
    status: str = "paid",
    shipping_cents: int = 0,
    prices_include_tax: bool = False,
) -> Order:
    """An order of ``lines`` — ``(product, unit_price_cents, quantity, discount_cents,
    tax_cents)`` — with totals that add up (tax on top unless ``prices_include_tax``)."""
    subtotal = sum(unit * qty for _, unit, qty, _, _ in lines)
    discount = sum(d for *_, d, _ in lines)
    tax = sum(t for *_, t in lines)
    order = Order(
        number=new_order_number(),
        user_id=user.id if user else None,
        email=user.email if user else "guest@example.com",
        status=status,
        currency="USD",
        subtotal_cents=subtotal,
        shipping_cents=shipping_cents,
        discount_cents=discount,
        tax_cents=tax,
        total_cents=subtotal - discount + shipping_cents + (0 if prices_include_tax else tax),
        prices_include_tax=prices_include_tax,
        shipping_address=dict(ADDRESS),
        payment_provider=provider,
    )
    db.session.add(order)
    db.session.flush()
    for product, unit, qty, disc, line_tax in lines:
        db.session.add(
            OrderLine(
                order_id=order.id,
                product_id=product.id,
                sku=product.sku,
                name=product.name,
                unit_price_cents=unit,
                quantity=qty,
                discount_cents=disc,
                tax_cents=line_tax,
                tax_rate_bp=1000 if line_tax else 0,
            )
        )
    db.session.add(OrderEvent(order_id=order.id, from_status=None, to_status=status, note="Made for a test."))
    db.session.flush()
    return order


def make_card_payment(order: Order, intent: str = "pi_test_1", amount_cents: int | None = None) -> Payment:
    """A succeeded Stripe payment of ``order`` (its total unless ``amount_cents``)."""
    payment = Payment(
        order_id=order.id,
        provider="card",
        reference="cs_test_" + intent,
        provider_payment=intent,
        amount_cents=order.total_cents if amount_cents is None else amount_cents,
        currency=order.currency,
        status="succeeded",
    )
    db.session.add(payment)
    db.session.flush()
    return payment
