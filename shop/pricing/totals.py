"""The one totals calculator: what an order costs, from its lines, address, method and code.

The cart page (an estimate), checkout, the API and ``place_order`` (inside the order's
transaction) all call :func:`compute`, so every figure a shopper sees is the one they are
charged. All amounts are integer cents of the shop currency.

The order of the computation (as Solidus' order updater: promotions, then shipping,
then taxes):

1. ``subtotal`` = sum of unit price x quantity, at the catalog's prices.
2. ``discount``: the code's amount (:func:`shop.pricing.discounts.line_discounts`), spread
   over the lines it applies to.
3. ``shipping``: the chosen method's price for the discounted subtotal and the weight
   (:func:`shop.pricing.shipping.quote`); free above the method's threshold.
4. ``tax`` at the address's rate (:func:`shop.pricing.tax.rate_for`), computed and
   rounded per line on what the line costs after its discount, and on the shipping
   (:func:`shop.pricing.tax.tax_in`).
5. ``total`` = subtotal - discount + shipping, plus the tax when catalog prices exclude
   it (``PRICES_INCLUDE_TAX`` false, US style); when they include it (EU style) the tax
   is already in the total and shown as "includes".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pycountry
from flask import current_app

from shop.pricing import discounts, shipping, tax
from shop.pricing.discounts import Customer

#: ISO 3166-1 alpha-2 code -> the country's common name, for the shopper's messages.
COUNTRIES = {c.alpha_2: getattr(c, "common_name", c.name) for c in pycountry.countries}


@dataclass(frozen=True)
class PricedLine:
    """A cart or order line as the calculator sees it: price in cents, weight in grams
    (None when unknown), the product's category for category-bound codes."""

    product_id: int
    category_id: int | None
    unit_price_cents: int
    quantity: int
    weight_grams: int | None = None

    @property
    def subtotal_cents(self) -> int:
        """Unit price times quantity."""
        return self.unit_price_cents * self.quantity


@dataclass(frozen=True)
class LineTotals:
    """One line's share of the breakdown, in cents: its subtotal, the discount taken off
    it, and the tax on what is left at ``tax_rate_bp`` basis points."""

    product_id: int
    subtotal_cents: int
    discount_cents: int
    tax_cents: int
    tax_rate_bp: int


@dataclass(frozen=True)
class ShippingOption:
    """A method that can ship this order to this address, with its price in cents."""

    method_id: int
    name: str
    description: str
    price_cents: int
    min_days: int
    max_days: int


@dataclass(frozen=True)
class Breakdown:
    """What an order costs (all cents). Attribute names match :class:`~shop.orders.models.Order`
    so one template macro shows either.

    ``discount_code`` is the code that applied ('' if none); ``discount_refusal`` says why
    a typed code did not apply (None if it did or none was typed). ``shipping_options``
    are the methods that can take the order; ``ships`` is False when the shop has
    shipping methods but none serves this address (an order cannot be placed).
    ``shipping_method_id`` is None when no method applies (or the shop has none: then
    shipping is free and no method is needed).
    """

    currency: str
    prices_include_tax: bool
    country: str
    region: str
    lines: tuple[LineTotals, ...]
    subtotal_cents: int
    discount_cents: int
    discount_code: str
    discount_code_id: int | None
    discount_refusal: str | None
    shipping_options: tuple[ShippingOption, ...]
    ships: bool
    shipping_refusal: str | None
    shipping_method_id: int | None
    shipping_method_name: str
    shipping_cents: int
    shipping_tax_cents: int
    tax_cents: int
    tax_name: str
    tax_rate_bp: int
    total_cents: int


def _options(
    lines: Sequence[PricedLine], country: str, goods_cents: int
) -> tuple[bool, list[ShippingOption]]:
    """Whether the shop has any active method, and the options for this order and country
    (cheapest first, then the staff's order)."""
    methods = shipping.active_methods()
    weights = [ln.weight_grams for ln in lines]
    weight = (
        None if any(w is None for w in weights) else sum(w * ln.quantity for w, ln in zip(weights, lines))
    )
    options, serving = [], shipping.methods_for(country, methods)
    for position, method in enumerate(serving):
        price = shipping.quote(method, goods_cents, weight)
        if price is not None:
            option = ShippingOption(
                method.id, method.name, method.description, price, method.min_days, method.max_days
            )
            options.append((price, position, option))
    refusal = None
    if methods and not options:
        name = COUNTRIES.get(country, country)
        refusal = (
            f"We do not ship to {name}."
            if not serving
            else f"None of our shipping methods to {name} can take this order (its weight is unknown or "
            "over their limit)."
        )
    return refusal, [o for _, _, o in sorted(options, key=lambda t: (t[0], t[1]))]


def _discount(lines, code_text, customer, now) -> tuple[list[int], str, int | None, str | None]:
    """Each line's discount, the code that applied, its id, and the refusal if it did not."""
    zero = [0] * len(lines)
    if not (code_text or "").strip():
        return zero, "", None, None
    code = discounts.find_code(code_text)
    applies = discounts.eligible(code, [ln.category_id for ln in lines]) if code else [False] * len(lines)
    subtotal = sum(ln.subtotal_cents for ln in lines)
    reason = discounts.refusal(code, code_text, subtotal, applies, customer, now)
    if reason is not None:
        return zero, "", None, reason
    return (
        discounts.line_discounts(code, [ln.subtotal_cents for ln in lines], applies),
        code.code,
        code.id,
        None,
    )


def _line_totals(
    lines: Sequence[PricedLine], line_discounts: Sequence[int], rate_bp: int, included: bool
) -> tuple[LineTotals, ...]:
    """Each line's discount and its tax on what is left, rounded per line."""
    return tuple(
        LineTotals(
            ln.product_id, ln.subtotal_cents, d, tax.tax_in(ln.subtotal_cents - d, rate_bp, included), rate_bp
        )
        for ln, d in zip(lines, line_discounts, strict=True)
    )


def compute(
    lines: Sequence[PricedLine],
    *,
    country: str,
    region: str = "",
    shipping_method_id: int | None = None,
    code: str | None = None,
    customer: Customer | None = None,
    now: datetime | None = None,
) -> Breakdown:
    """The breakdown of an order (see the module's docstring for the rules and sources).

    Args:
        lines: the order's lines (an empty cart gives an all-zero breakdown).
        country: the address's ISO 3166-1 alpha-2 code (the cart page: an estimate for
            the shop's or the shopper's chosen country).
        region: the address's region, for a regional tax rate.
        shipping_method_id: the chosen method; None (or one that cannot take the order)
            picks the cheapest that can.
        code: the discount code typed, or None.
        customer: who orders, for a code's per-customer limit.
        now: the time to check a code's validity at (default: now, UTC).
    Returns:
        A :class:`Breakdown`; refusals are reported in it (``discount_refusal``,
        ``ships``), never raised, so a page can show them.
    """
    config = current_app.config
    included = bool(config.get("PRICES_INCLUDE_TAX", False))
    country = (country or config.get("SHOP_COUNTRY", "US")).upper()
    line_discounts, applied, code_id, refusal = _discount(lines, code, customer or Customer(), now)
    subtotal, discount = sum(ln.subtotal_cents for ln in lines), sum(line_discounts)
    shipping_refusal, options = _options(lines, country, subtotal - discount) if lines else (None, [])
    chosen = next((o for o in options if o.method_id == shipping_method_id), options[0] if options else None)
    rate = tax.rate_for(country, region)
    rate_bp = rate.rate_bp if rate else 0
    line_totals = _line_totals(lines, line_discounts, rate_bp, included)
    shipping_cents = chosen.price_cents if chosen else 0
    shipping_tax = tax.tax_in(shipping_cents, rate_bp, included)
    tax_cents = sum(lt.tax_cents for lt in line_totals) + shipping_tax
    return Breakdown(
        currency=config["SHOP_CURRENCY"],
        prices_include_tax=included,
        country=country,
        region=region or "",
        lines=line_totals,
        subtotal_cents=subtotal,
        discount_cents=discount,
        discount_code=applied,
        discount_code_id=code_id,
        discount_refusal=refusal,
        shipping_options=tuple(options),
        ships=shipping_refusal is None,
        shipping_refusal=shipping_refusal,
        shipping_method_id=chosen.method_id if chosen else None,
        shipping_method_name=chosen.name if chosen else "",
        shipping_cents=shipping_cents,
        shipping_tax_cents=shipping_tax,
        tax_cents=tax_cents,
        tax_name=rate.name if rate else "",
        tax_rate_bp=rate_bp,
        total_cents=subtotal - discount + shipping_cents + (0 if included else tax_cents),
    )
