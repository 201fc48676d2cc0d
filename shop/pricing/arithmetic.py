"""Exact money arithmetic in integer cents: one rounding rule and one way to split an amount.

Every amount is an ``int`` of minor units; no float is ever involved. The two rules here
are the only places the shop rounds or divides money.
"""

from __future__ import annotations

from collections.abc import Sequence


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves away from zero.

    Half-up ("commercial rounding") is the rule Solidus' default tax calculator applies
    to each line (``Spree::Calculator::DefaultTax#round_to_two_places`` rounds with
    ``BigDecimal::ROUND_HALF_UP``) and the one most tax authorities describe for a line's
    tax (e.g. HMRC's VAT Notice 700 §17.5: round to the nearest penny). Integers only,
    so the result is exact for any size.

    Raises:
        ZeroDivisionError: ``denominator`` is 0.
    """
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return sign * quotient


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split ``amount`` cents over ``weights`` in proportion, the parts summing exactly to
    ``amount`` (Hamilton's largest-remainder method, as Fowler's ``Money.allocate`` in
    *Patterns of Enterprise Application Architecture*).

    Each part first gets the floor of its exact share; the cents left over go one each
    to the parts with the largest remainders (ties to the earlier part). Used to spread an
    order's discount over its lines, so each line's tax is computed on what that line
    really costs.

    Args:
        amount: cents to split, >= 0.
        weights: one non-negative weight per part (e.g. each line's subtotal in cents).
    Returns:
        One part per weight; all zero when every weight is zero.
    """
    total = sum(weights)
    if total <= 0 or amount <= 0:
        return [0] * len(weights)
    parts = [amount * w // total for w in weights]
    remainders = [amount * w % total for w in weights]
    left = amount - sum(parts)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
        parts[index] += 1
    return parts
