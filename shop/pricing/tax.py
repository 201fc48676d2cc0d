"""Tax: the rate for an address and the tax in an amount."""

from __future__ import annotations

from sqlalchemy import select

from shop.extensions import db
from shop.pricing.arithmetic import round_half_up
from shop.pricing.models import TaxRate


def rate_for(country: str, region: str = "") -> TaxRate | None:
    """The active tax rate for an address: the region's own rate if staff set one, else
    the country's (region ''), else None (no tax is charged there).

    ``region`` is matched without regard to case or surrounding spaces.
    """
    rates = db.session.scalars(
        select(TaxRate).where(TaxRate.country == (country or "").upper(), TaxRate.is_active.is_(True))
    ).all()
    wanted = (region or "").strip().lower()
    by_region = {r.region.strip().lower(): r for r in rates}
    return by_region.get(wanted) if wanted and wanted in by_region else by_region.get("")


def tax_in(amount_cents: int, rate_bp: int, prices_include_tax: bool) -> int:
    """The tax on one amount (a line after its discount, or the shipping), in cents.

    With ``prices_include_tax`` the amount is gross and the tax is the part of it above
    the net price: ``amount * rate / (10000 + rate)``; otherwise the amount is net and the
    tax is added: ``amount * rate / 10000``. Rates are in basis points (2000 = 20 %).
    Rounded once per amount with :func:`shop.pricing.arithmetic.round_half_up`, so the
    order's tax is the sum of its rounded lines (per-line rounding, as Solidus).
    """
    if rate_bp <= 0 or amount_cents <= 0:
        return 0
    if prices_include_tax:
        return round_half_up(amount_cents * rate_bp, 10_000 + rate_bp)
    return round_half_up(amount_cents * rate_bp, 10_000)
