"""Staff services for shipping methods and tax rates (discount codes: ``code_services.py``).

Used by the staff pages under ``/admin`` (``shop/admin/pricing.py``). Each service takes
plain data, checks every rule, flushes and never commits: the caller owns the transaction
and rolls it back when a service raises. Units are the models' own: money in integer cents
of the shop currency, rates and percentages in basis points (2000 = 20 %), weights in
grams, timestamps timezone-aware UTC.

Errors:
    ValidationFailed (422): a field breaks a rule; ``errors`` is ``{field: [messages]}``
        with the model's field names (``price_cents``, ``rate_bp``, ``bands`` ...).
    NotFound (404): no row with that id.
    Conflict (409): a second tax rate for the same country and region.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shop.exceptions import Conflict
from shop.extensions import db
from shop.pricing import checks
from shop.pricing.models import RATE_KINDS, ShippingMethod, TaxRate

#: Fields of each model the services accept (``create_*`` / ``update_*`` ``data`` keys).
SHIPPING_FIELDS = (
    "name",
    "description",
    "countries",
    "rate_kind",
    "price_cents",
    "bands",
    "free_above_cents",
    "min_days",
    "max_days",
    "is_active",
    "position",
)
TAX_FIELDS = ("country", "region", "name", "rate_bp", "is_active")


def _tax_label(rate: TaxRate) -> str:
    """How the audit log names a rate, e.g. ``US-CA Sales tax``."""
    return f"{rate.country}{'-' + rate.region if rate.region else ''} {rate.name}"


SHIPPING_AUDIT = checks.Audited(
    "pricing.shipping_method", "shipping_method", SHIPPING_FIELDS, lambda m: m.name
)
TAX_AUDIT = checks.Audited("pricing.tax_rate", "tax_rate", TAX_FIELDS, _tax_label)


# --- shipping methods ---------------------------------------------------------------------


def _clean_countries(value: Any, errors: checks.Errors) -> list[str]:
    """A list of ISO 3166-1 alpha-2 codes, upper-cased, each once, in the order given."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        errors.add("countries", "Must be a list of country codes.")
        return []
    codes: list[str] = []
    unknown = []
    for item in value:
        code = checks.country_code(item)
        if code is None:
            unknown.append(str(item))
        elif code not in codes:
            codes.append(code)
    if unknown:
        errors.add(
            "countries", f"Not ISO 3166-1 alpha-2 country codes: {', '.join(unknown)} (e.g. US, DE, FR)."
        )
    return codes


def _clean_bands(value: Any, rate_kind: str, errors: checks.Errors) -> list[list[int]]:
    """Bands ``[[up_to, price_cents], ...]`` sorted by ``up_to``, each ``up_to`` once;
    at least one band for the ``subtotal`` and ``weight`` kinds."""
    if value is None:
        value = []
    pairs = value if isinstance(value, list | tuple) else None
    if pairs is None or not all(
        isinstance(p, list | tuple) and len(p) == 2 and all(checks.is_int(n) for n in p) for p in pairs
    ):
        errors.add("bands", "Must be a list of [up to, price in cents] pairs of whole numbers.")
        return []
    bands = sorted([int(up_to), int(price)] for up_to, price in pairs)
    if any(up_to < 0 for up_to, _ in bands):
        errors.add("bands", "The 'up to' figures must be 0 or more.")
    if any(price < 0 for _, price in bands):
        errors.add("bands", "Band prices must be 0 or more.")
    if any(a[0] == b[0] for a, b in zip(bands, bands[1:])):
        errors.add("bands", "Each 'up to' figure may appear only once: they must strictly increase.")
    if rate_kind in ("subtotal", "weight") and not bands:
        errors.add("bands", f"A {rate_kind}-priced method needs at least one band.")
    return bands


def _clean_shipping(row: ShippingMethod | None, data: dict[str, Any]) -> dict[str, Any]:
    """Checked and normalized shipping method fields (every field, for a new row or an edit).

    Raises:
        ValidationFailed: with ``errors`` per field.
    """
    errors = checks.Errors()
    values = checks.merged(row, SHIPPING_FIELDS, data, errors)
    clean: dict[str, Any] = {
        "name": checks.text_field(values, "name", 100, errors, required=True),
        "description": checks.text_field(values, "description", 300, errors),
        "countries": _clean_countries(values.get("countries"), errors),
        "rate_kind": values.get("rate_kind") or "flat",
        "price_cents": checks.whole_number(values, "price_cents", errors)
        if values.get("price_cents") is not None
        else 0,
        "free_above_cents": checks.whole_number(values, "free_above_cents", errors, optional=True),
        "min_days": checks.whole_number(values, "min_days", errors),
        "max_days": checks.whole_number(values, "max_days", errors),
        "is_active": bool(values.get("is_active", True)),
        "position": values.get("position") if checks.is_int(values.get("position")) else 0,
    }
    if clean["rate_kind"] not in RATE_KINDS:
        errors.add("rate_kind", "Must be one of: " + ", ".join(RATE_KINDS) + ".")
    clean["bands"] = _clean_bands(values.get("bands"), clean["rate_kind"], errors)
    low, high = clean["min_days"], clean["max_days"]
    if checks.is_int(low) and checks.is_int(high) and low > high:
        errors.add("max_days", "Must be at least the minimum days.")
    errors.raise_if_any("Some shipping method fields are invalid.")
    return clean


def list_shipping_methods() -> list[ShippingMethod]:
    """Every shipping method, active or not, by ``position`` then name."""
    return list(
        db.session.scalars(
            select(ShippingMethod).order_by(ShippingMethod.position, ShippingMethod.name, ShippingMethod.id)
        )
    )


def get_shipping_method(method_id: int) -> ShippingMethod:
    """One shipping method.

    Raises:
        NotFound: no such method.
    """
    return checks.get_or_404(ShippingMethod, method_id, "shipping method")


def create_shipping_method(data: dict[str, Any], actor_id: int | None = None) -> ShippingMethod:
    """Create a shipping method.

    Args:
        data: ``name`` (required, at most 100 characters); optional ``description``;
            ``countries`` (ISO 3166-1 alpha-2 codes, either case; empty: every country);
            ``rate_kind`` (``flat``, default, ``subtotal`` or ``weight``); ``price_cents``
            (the flat price, int >= 0); ``bands`` (``[[up_to, price_cents], ...]``,
            ``up_to`` in cents of the discounted subtotal or in grams; at least one for
            the subtotal and weight kinds; stored sorted); ``free_above_cents`` (int >= 0
            or None); ``min_days`` <= ``max_days`` (working days, ints >= 0);
            ``is_active`` (default True); ``position`` (sort order, int).
        actor_id: the staff user making the change (for the audit log), or None.
    Returns:
        The new, flushed :class:`ShippingMethod`.
    Raises:
        ValidationFailed: a field breaks a rule (``errors`` per field).
    """
    method = ShippingMethod(**_clean_shipping(None, data))
    db.session.add(method)
    db.session.flush()
    SHIPPING_AUDIT.created(method, actor_id)
    return method


def update_shipping_method(
    method_id: int, data: dict[str, Any], actor_id: int | None = None
) -> ShippingMethod:
    """Change a shipping method; ``data`` is any subset of the fields of
    :func:`create_shipping_method` (the rules apply to the result as a whole). Placed
    orders keep their copy of the method's name and price.

    Raises:
        NotFound: no such method.
        ValidationFailed: a field breaks a rule.
    """
    method = get_shipping_method(method_id)
    before = SHIPPING_AUDIT.snapshot(method)
    for key, value in _clean_shipping(method, data).items():
        setattr(method, key, value)
    db.session.flush()
    SHIPPING_AUDIT.updated(method, before, actor_id)
    return method


def delete_shipping_method(method_id: int, actor_id: int | None = None) -> None:
    """Delete a shipping method. Orders that used it keep its name (their link is cleared).

    Raises:
        NotFound: no such method.
    """
    SHIPPING_AUDIT.delete(get_shipping_method(method_id), actor_id)


# --- tax rates ----------------------------------------------------------------------------


def _clean_tax(row: TaxRate | None, data: dict[str, Any]) -> dict[str, Any]:
    """Checked and normalized tax rate fields.

    Raises:
        ValidationFailed: with ``errors`` per field.
    """
    errors = checks.Errors()
    values = checks.merged(row, TAX_FIELDS, data, errors)
    country = checks.country_code(values.get("country"))
    if country is None:
        errors.add("country", "Must be an ISO 3166-1 alpha-2 country code, e.g. US or DE.")
    clean = {
        "country": country,
        "region": checks.text_field(values, "region", 100, errors),
        "name": checks.text_field(values, "name", 50, errors, required=True),
        "rate_bp": checks.whole_number(values, "rate_bp", errors),
        "is_active": bool(values.get("is_active", True)),
    }
    if checks.is_int(clean["rate_bp"]) and clean["rate_bp"] > 10000:
        errors.add("rate_bp", "Must be at most 100% (10000 basis points).")
    errors.raise_if_any("Some tax rate fields are invalid.")
    return clean


def _tax_duplicate(country: str, region: str) -> Conflict:
    """The error for a second rate of the same country and region."""
    where = f"{country}, region {region}" if region else f"{country} (the whole country)"
    field = "region" if region else "country"
    return Conflict(
        f"There is already a tax rate for {where}; edit that one instead.",
        {field: [f"There is already a tax rate for {where}."]},
    )


def _save_tax(rate: TaxRate) -> TaxRate:
    """Flush ``rate`` after checking no other rate has its country and region.

    Raises:
        Conflict: another rate has them (also when saved concurrently).
    """
    checks.save_unique(
        rate,
        [TaxRate.country == rate.country, TaxRate.region == rate.region],
        _tax_duplicate(rate.country, rate.region),
        "uq_tax_rates_country_region",
        "tax_rates.country",
    )
    return rate


def list_tax_rates() -> list[TaxRate]:
    """Every tax rate, by country then region (the whole country first)."""
    return list(db.session.scalars(select(TaxRate).order_by(TaxRate.country, TaxRate.region, TaxRate.id)))


def get_tax_rate(rate_id: int) -> TaxRate:
    """One tax rate.

    Raises:
        NotFound: no such rate.
    """
    return checks.get_or_404(TaxRate, rate_id, "tax rate")


def create_tax_rate(data: dict[str, Any], actor_id: int | None = None) -> TaxRate:
    """Create a tax rate.

    Args:
        data: ``country`` (ISO 3166-1 alpha-2, either case), ``region`` (optional free
            text such as a US state code, stored trimmed; "" is the whole country),
            ``name`` (e.g. "VAT", "Sales tax"; required, at most 50 characters),
            ``rate_bp`` (basis points, 0 to 10000: 2000 is 20 %), ``is_active``.
        actor_id: the staff user making the change (for the audit log), or None.
    Returns:
        The new, flushed :class:`TaxRate`.
    Raises:
        ValidationFailed: a field breaks a rule.
        Conflict: a rate for that country and region exists already.
    """
    rate = TaxRate(**_clean_tax(None, data))
    db.session.add(rate)
    _save_tax(rate)
    TAX_AUDIT.created(rate, actor_id)
    return rate


def update_tax_rate(rate_id: int, data: dict[str, Any], actor_id: int | None = None) -> TaxRate:
    """Change a tax rate (``data``: any subset of the fields of :func:`create_tax_rate`).
    Placed orders keep the name and rate they were charged.

    Raises:
        NotFound: no such rate.
        ValidationFailed: a field breaks a rule.
        Conflict: another rate has the new country and region.
    """
    rate = get_tax_rate(rate_id)
    before = TAX_AUDIT.snapshot(rate)
    clean = _clean_tax(rate, data)
    with db.session.no_autoflush:
        for key, value in clean.items():
            setattr(rate, key, value)
    _save_tax(rate)
    TAX_AUDIT.updated(rate, before, actor_id)
    return rate


def delete_tax_rate(rate_id: int, actor_id: int | None = None) -> None:
    """Delete a tax rate. Placed orders keep the name and rate they were charged.

    Raises:
        NotFound: no such rate.
    """
    TAX_AUDIT.delete(get_tax_rate(rate_id), actor_id)
