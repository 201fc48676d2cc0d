"""Money at the edges: cents to display strings and human input to cents (Babel)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision
from flask import current_app


def format_money(cents: int, currency: str = "USD", locale: str = "en_US") -> str:
    """Format integer minor units as a localized currency string, e.g. 5295 -> '$52.95'."""
    digits = get_currency_precision(currency)
    amount = Decimal(cents).scaleb(-digits)
    return format_currency(amount, currency, locale=locale)


def display_money(cents: int | None, currency: str | None = None) -> str:
    """Integer cents as the shop shows them (``SHOP_CURRENCY`` unless ``currency`` is given,
    in ``SHOP_LOCALE``), e.g. 5295 -> '$52.95'; ``""`` for None. Needs an app context."""
    if cents is None:
        return ""
    return format_money(
        int(cents),
        currency or current_app.config["SHOP_CURRENCY"],
        current_app.config["SHOP_LOCALE"],
    )


def parse_money(text: str | Decimal | int | float, currency: str = "USD") -> int:
    """Parse a human amount (``"52.95"``, ``"1,299.00"``) into integer minor units.

    Raises:
        ValueError: if the text is not a non-negative amount with at most the currency's
            number of decimals.
    """
    digits = get_currency_precision(currency)
    raw = str(text).strip().replace(",", "").lstrip("$")
    try:
        amount = Decimal(raw)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {text!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"not a non-negative amount: {text!r}")
    scaled = amount.scaleb(digits)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"too many decimals for {currency}: {text!r}")
    return int(scaled)
