"""Money at the edges: cents to display strings and human input to cents (Babel)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, format_percent, get_currency_precision
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


def format_rate(bp: int | None, locale: str | None = None) -> str:
    """Basis points as a localized percentage, with only the decimals it needs: 2000 ->
    ``"20%"``, 1250 -> ``"12.5%"``, 888 -> ``"8.88%"``; ``""`` for None. Needs an app context
    unless ``locale`` is given."""
    if bp is None:
        return ""
    locale = locale or current_app.config["SHOP_LOCALE"]
    return format_percent(Decimal(int(bp)).scaleb(-4), format="#,##0.##%", locale=locale)


def parse_percent(text: str | Decimal | int) -> int:
    """Parse a human percentage (``"12.5"``, ``"20 %"``) into basis points (1250, 2000).

    Raises:
        ValueError: if the text is not a percentage from 0 to 100 with at most 2 decimals.
    """
    raw = str(text).strip().rstrip("%").strip()
    try:
        amount = Decimal(raw)
    except InvalidOperation as exc:
        raise ValueError(f"not a percentage: {text!r}") from exc
    if not amount.is_finite() or not 0 <= amount <= 100:
        raise ValueError(f"not a percentage from 0 to 100: {text!r}")
    scaled = amount.scaleb(2)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"more than 2 decimals: {text!r}")
    return int(scaled)


def rate_to_input(bp: int | None) -> str:
    """Basis points as the plain percentage a form field shows: 1250 -> ``"12.5"``, 2000 -> ``"20"``."""
    if bp is None:
        return ""
    return f"{Decimal(int(bp)).scaleb(-2).normalize():f}"
