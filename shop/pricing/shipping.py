"""Shipping: which methods serve an address and what each costs for an order."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from shop.extensions import db
from shop.pricing.models import ShippingMethod


def active_methods() -> list[ShippingMethod]:
    """Every active shipping method, in the staff's order (``position``, then name)."""
    return list(
        db.session.scalars(
            select(ShippingMethod)
            .where(ShippingMethod.is_active.is_(True))
            .order_by(ShippingMethod.position, ShippingMethod.name, ShippingMethod.id)
        )
    )


def methods_for(country: str, methods: Iterable[ShippingMethod] | None = None) -> list[ShippingMethod]:
    """The active methods that ship to ``country`` (ISO 3166-1 alpha-2), in the staff's order."""
    return [m for m in (active_methods() if methods is None else methods) if m.serves(country)]


def _band_price(bands: list[list[int]], figure: int) -> int | None:
    """The price of the first band whose ``up_to`` is at least ``figure``; None beyond the last."""
    for up_to, price in sorted(bands):
        if figure <= up_to:
            return int(price)
    return None


def quote(method: ShippingMethod, subtotal_cents: int, weight_grams: int | None) -> int | None:
    """What ``method`` charges for an order, in cents, before tax is considered.

    Args:
        subtotal_cents: the order's subtotal after its discount (what the goods cost).
        weight_grams: the order's weight, or None when a product's weight is unknown.
    Returns:
        The price; 0 from ``free_above_cents`` on; None when the method cannot take the
        order. A weight-priced method cannot take an order of unknown weight or beyond its
        last band, free threshold or not (the carrier's limit is physical); a
        subtotal-priced one beyond its last band can, when the free threshold covers it.
    """
    free = method.free_above_cents is not None and subtotal_cents >= method.free_above_cents
    if method.rate_kind == "weight":
        price = None if weight_grams is None else _band_price(method.bands or [], weight_grams)
        return None if price is None else (0 if free else price)
    if free:
        return 0
    if method.rate_kind == "subtotal":
        return _band_price(method.bands or [], subtotal_cents)
    return method.price_cents
