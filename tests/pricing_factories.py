"""Factories for pricing test data: shipping methods, tax rates, discount codes, lines.

Plain functions that add rows and flush, as ``tests/factories.py``.
"""

from __future__ import annotations

from sqlalchemy import func, select

from shop.extensions import db
from shop.orders import cart as carts
from shop.orders.checkout import place_order
from shop.orders.models import Order
from shop.pricing.models import DiscountCode, DiscountRedemption, ShippingMethod, TaxRate
from shop.pricing.totals import PricedLine
from tests.factories import ADDRESS


def make_method(
    name: str,
    *,
    countries: list[str] | None = None,
    rate_kind: str = "flat",
    price_cents: int = 0,
    bands: list[list[int]] | None = None,
    free_above_cents: int | None = None,
    position: int = 0,
    is_active: bool = True,
) -> ShippingMethod:
    """A shipping method (every country unless ``countries`` is given)."""
    method = ShippingMethod(
        name=name,
        countries=countries or [],
        rate_kind=rate_kind,
        price_cents=price_cents,
        bands=bands or [],
        free_above_cents=free_above_cents,
        position=position,
        is_active=is_active,
        min_days=1,
        max_days=5,
    )
    db.session.add(method)
    db.session.flush()
    return method


def make_rate(country: str, rate_bp: int, name: str, region: str = "", is_active: bool = True) -> TaxRate:
    """A tax rate for a country (``region`` '') or one of its regions."""
    rate = TaxRate(country=country, region=region, name=name, rate_bp=rate_bp, is_active=is_active)
    db.session.add(rate)
    db.session.flush()
    return rate


def make_code(code: str, kind: str = "percentage", value: int = 1000, **kwargs) -> DiscountCode:
    """A discount code (default: 10 % off every line, no limits)."""
    row = DiscountCode(code=code, kind=kind, value=value, **kwargs)
    db.session.add(row)
    db.session.flush()
    return row


def line(product_id: int, unit_price_cents: int, quantity: int = 1, category_id=None, weight_grams=None):
    """A line as the totals calculator sees it (the product need not exist)."""
    return PricedLine(product_id, category_id, unit_price_cents, quantity, weight_grams)


def user_cart(user, *products_and_quantities):
    """The user's cart holding ``(product, quantity)`` pairs (flushes)."""
    cart = carts.get_user_cart(user.id, create=True)
    for product, quantity in products_and_quantities:
        carts.add_item(cart, product.sku, quantity)
    return cart


def guest_cart(*products_and_quantities):
    """A new guest cart holding ``(product, quantity)`` pairs (flushes)."""
    cart = carts.new_guest_cart()
    for product, quantity in products_and_quantities:
        carts.add_item(cart, product.sku, quantity)
    return cart


def times_used(code_id: int) -> int:
    """The code's use count, read afresh from the database."""
    return db.session.scalar(
        select(DiscountCode.times_used)
        .where(DiscountCode.id == code_id)
        .execution_options(populate_existing=True)
    )


def count(model, *where) -> int:
    """Rows of ``model`` (matching ``where``), counted in the database."""
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def orders_and_redemptions() -> tuple[int, int]:
    """``(orders, discount redemptions)`` in the database."""
    return count(Order), count(DiscountRedemption)


def place(cart, user=None, email: str | None = None, address: dict | None = None, **kwargs):
    """Place an order from ``cart`` for ``user`` (or a guest with ``email``); the caller commits."""
    return place_order(
        cart=cart,
        user_id=user.id if user is not None else None,
        email=user.email if user is not None else email,
        shipping_address=address or ADDRESS,
        **kwargs,
    ).order
