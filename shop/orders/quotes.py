"""What a shopper is shown before ordering: the cart's estimate, checkout's quote, and the
discount code kept on the cart.

Every figure comes from :func:`shop.pricing.totals.compute`, the calculator ``place_order``
runs again inside the order's transaction, so the page, the API and the order agree.
"""

from __future__ import annotations

from collections.abc import Iterable

from shop.catalog.models import Product
from shop.exceptions import Conflict, NotFound, ValidationFailed
from shop.extensions import db
from shop.orders.cart_lines import CartView
from shop.orders.models import Cart
from shop.pricing import discounts, totals
from shop.pricing.discounts import Customer
from shop.pricing.totals import Breakdown, PricedLine


def priced_lines(pairs: Iterable[tuple[Product, int]]) -> list[PricedLine]:
    """(product, quantity) pairs as the totals calculator's lines, at current prices."""
    return [PricedLine(p.id, p.category_id, p.price_cents, quantity, p.weight_grams) for p, quantity in pairs]


def quote(
    view: CartView,
    *,
    country: str,
    region: str = "",
    shipping_method_id: int | None = None,
    code: str | None = None,
    customer: Customer | None = None,
) -> Breakdown:
    """The breakdown of a reviewed cart's lines that can be bought, for ``country``.

    Args:
        view: the reviewed cart (lines that cannot be bought as they stand are left out).
        country, region: the address (or the country an estimate is for).
        shipping_method_id: the method chosen (None: the cheapest that can ship it).
        code: the discount code to try (the cart's own, or one typed at checkout).
        customer: who orders, for a code's per-customer limit.
    Returns:
        :class:`shop.pricing.totals.Breakdown`; refusals are in it, not raised.
    """
    pairs = [(line.product, line.quantity) for line in view.lines if line.available]
    return totals.compute(
        priced_lines(pairs),
        country=country,
        region=region,
        shipping_method_id=shipping_method_id,
        code=code,
        customer=customer,
    )


def apply_discount_code(cart: Cart, view: CartView, text: str, customer: Customer, country: str) -> Breakdown:
    """Keep a discount code on the cart if it applies to it now (flushes).

    Returns:
        The cart's breakdown with the code.
    Raises:
        ValidationFailed: no code typed (422).
        NotFound: no such code, or it is not active (404).
        Conflict: it does not apply to this cart now (409); each with ``{"discount_code":
            [reason]}``, the reason in words (expired, used up, below minimum, ...).
    """
    if not discounts.normalize_code(text):
        raise ValidationFailed("Enter a discount code.", {"discount_code": ["Enter a discount code."]})
    breakdown = quote(view, country=country, code=text, customer=customer)
    if breakdown.discount_refusal:
        code = discounts.find_code(text)
        refused = NotFound if code is None or not code.is_active else Conflict
        raise refused(breakdown.discount_refusal, {"discount_code": [breakdown.discount_refusal]})
    cart.discount_code = breakdown.discount_code
    db.session.flush()
    return breakdown


def remove_discount_code(cart: Cart | None) -> None:
    """Take the discount code off the cart (flushes); nothing happens without one."""
    if cart is not None and cart.discount_code is not None:
        cart.discount_code = None
        db.session.flush()
