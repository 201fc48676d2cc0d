"""Staff services for discount codes: list, create, update, delete.

Same rules as ``shop/pricing/services.py``: plain data in, flush, never commit; errors
are ``ValidationFailed`` (``{field: [messages]}`` with the model's field names),
``NotFound`` and ``Conflict``. ``value`` is basis points for a ``percentage`` code
(1000 = 10 %) and cents for a ``fixed`` one; timestamps are timezone-aware UTC.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from flask_babel import ngettext
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from shop.catalog.models import Category
from shop.exceptions import Conflict, ValidationFailed
from shop.extensions import db
from shop.pricing import checks
from shop.pricing.models import DISCOUNT_KINDS, DiscountCode, DiscountRedemption

#: What a discount code looks like once trimmed and upper-cased.
CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,39}$")

#: Keys of ``create_discount_code`` / ``update_discount_code`` ``data``.
DISCOUNT_FIELDS = (
    "code",
    "description",
    "kind",
    "value",
    "category_id",
    "min_subtotal_cents",
    "starts_at",
    "ends_at",
    "max_uses",
    "max_uses_per_customer",
    "is_active",
)
DISCOUNT_AUDIT = checks.Audited("pricing.discount_code", "discount_code", DISCOUNT_FIELDS, lambda c: c.code)


def normalize_code(code: str) -> str:
    """A code as stored and compared: trimmed and upper-cased (``" summer-10 "`` -> ``"SUMMER-10"``)."""
    return code.strip().upper()


def _clean_code(value: Any, errors: checks.Errors) -> str:
    """The trimmed, upper-cased code, checked against :data:`CODE_PATTERN`."""
    code = normalize_code(value) if isinstance(value, str) else ""
    if not code:
        errors.add("code", "Required.")
    elif not CODE_PATTERN.match(code):
        errors.add(
            "code",
            "3 to 40 letters, digits, dashes or underscores, starting with a letter or digit.",
        )
    return code


def _clean_value(kind: Any, value: Any, errors: checks.Errors) -> None:
    """``kind`` is known; ``value`` is 1..10000 basis points (percentage) or > 0 cents (fixed)."""
    if kind not in DISCOUNT_KINDS:
        errors.add("kind", "Must be one of: " + ", ".join(DISCOUNT_KINDS) + ".")
    elif not checks.is_int(value):
        errors.add("value", "Required." if value is None else "Must be a whole number.")
    elif kind == "percentage" and not 1 <= value <= 10000:
        errors.add("value", "A percentage must be more than 0% and at most 100%.")
    elif kind == "fixed" and value <= 0:
        errors.add("value", "A fixed amount must be more than 0.")


def _clean_moment(values: dict, key: str, errors: checks.Errors) -> datetime | None:
    """``values[key]`` as an aware UTC datetime, or None."""
    value = values.get(key)
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        errors.add(key, "Must be a timezone-aware date and time.")
        return None
    return value.astimezone(timezone.utc)


def _clean_uses(row: DiscountCode | None, values: dict, errors: checks.Errors) -> dict[str, Any]:
    """``max_uses`` and ``max_uses_per_customer``: positive or None; ``max_uses`` never
    below the uses the code already has."""
    clean = {
        key: checks.whole_number(values, key, errors, minimum=1, optional=True)
        for key in ("max_uses", "max_uses_per_customer")
    }
    used = row.times_used if row is not None else 0
    if checks.is_int(clean["max_uses"]) and clean["max_uses"] < used:
        errors.add("max_uses", f"The code has been used {used} times already; the maximum cannot be lower.")
    return clean


def _clean_discount(row: DiscountCode | None, data: dict[str, Any]) -> dict[str, Any]:
    """Checked and normalized discount code fields.

    Raises:
        ValidationFailed: with ``errors`` per field.
    """
    errors = checks.Errors()
    values = checks.merged(row, DISCOUNT_FIELDS, data, errors)
    clean: dict[str, Any] = {
        "code": _clean_code(values.get("code"), errors),
        "description": checks.text_field(values, "description", 200, errors),
        "kind": values.get("kind"),
        "value": values.get("value"),
        "category_id": values.get("category_id"),
        "min_subtotal_cents": checks.whole_number(values, "min_subtotal_cents", errors)
        if values.get("min_subtotal_cents") is not None
        else 0,
        "starts_at": _clean_moment(values, "starts_at", errors),
        "ends_at": _clean_moment(values, "ends_at", errors),
        "is_active": bool(values.get("is_active", True)),
        **_clean_uses(row, values, errors),
    }
    _clean_value(clean["kind"], clean["value"], errors)
    category = clean["category_id"]
    if category is not None and (not checks.is_int(category) or db.session.get(Category, category) is None):
        errors.add("category_id", "No such category.")
    if clean["starts_at"] and clean["ends_at"] and clean["starts_at"] >= clean["ends_at"]:
        errors.add("ends_at", "Must be after the start.")
    errors.raise_if_any("Some discount code fields are invalid.")
    return clean


def _duplicate(code: str) -> Conflict:
    """The error for a code that another discount code has."""
    return Conflict(f"The code {code} exists already.", {"code": ["This code exists already."]})


def _save(code: DiscountCode) -> DiscountCode:
    """Flush ``code`` after checking no other discount code has its text.

    Raises:
        Conflict: the code is taken (also when saved concurrently).
        ValidationFailed: ``max_uses`` fell below the uses that checkouts made meanwhile.
    """
    try:
        checks.save_unique(
            code,
            [DiscountCode.code == code.code],
            _duplicate(code.code),
            "uq_discount_codes_code",
            "discount_codes.code",
        )
    except IntegrityError as exc:
        if "times_used_within_max" not in str(exc.orig):
            raise
        raise ValidationFailed(
            "The code was used meanwhile; the maximum cannot be lower than its uses.",
            {"max_uses": ["Lower than the uses the code has now."]},
        ) from exc
    return code


def discount_code_query(q: str = "") -> Select:
    """A select of discount codes for the staff list, by code; ``q`` matches part of the code."""
    stmt = select(DiscountCode).options(joinedload(DiscountCode.category))
    q = normalize_code(q)
    if q:
        stmt = stmt.where(DiscountCode.code.contains(q, autoescape=True))
    return stmt.order_by(DiscountCode.code)


def get_discount_code(code_id: int) -> DiscountCode:
    """One discount code.

    Raises:
        NotFound: no such code.
    """
    return checks.get_or_404(DiscountCode, code_id, "discount code")


def create_discount_code(data: dict[str, Any], actor_id: int | None = None) -> DiscountCode:
    """Create a discount code.

    Args:
        data: ``code`` (trimmed and upper-cased, then 3 to 40 of A-Z, 0-9, ``-``, ``_``,
            not starting with ``-``/``_``); ``kind`` (``percentage`` or ``fixed``);
            ``value`` (basis points 1..10000 for a percentage, cents > 0 for a fixed
            amount); optional ``description``, ``category_id`` (an existing category:
            only its products' lines are discounted), ``min_subtotal_cents`` (>= 0),
            ``starts_at`` < ``ends_at`` (aware datetimes, stored UTC; either may be None),
            ``max_uses`` and ``max_uses_per_customer`` (> 0 or None: no limit),
            ``is_active`` (default True).
        actor_id: the staff user making the change (for the audit log), or None.
    Returns:
        The new, flushed :class:`DiscountCode`.
    Raises:
        ValidationFailed: a field breaks a rule.
        Conflict: the code exists already.
    """
    code = DiscountCode(**_clean_discount(None, data))
    db.session.add(code)
    _save(code)
    DISCOUNT_AUDIT.created(code, actor_id)
    return code


def update_discount_code(code_id: int, data: dict[str, Any], actor_id: int | None = None) -> DiscountCode:
    """Change a discount code (``data``: any subset of the fields of
    :func:`create_discount_code`). ``max_uses`` cannot go below ``times_used``.

    Raises:
        NotFound: no such code.
        ValidationFailed: a field breaks a rule.
        Conflict: another discount code has the new code.
    """
    code = get_discount_code(code_id)
    before = DISCOUNT_AUDIT.snapshot(code)
    clean = _clean_discount(code, data)
    with db.session.no_autoflush:
        for key, value in clean.items():
            setattr(code, key, value)
    _save(code)
    DISCOUNT_AUDIT.updated(code, before, actor_id)
    return code


def redemption_count(code_id: int) -> int:
    """How many orders have used the code (released uses included)."""
    return db.session.scalar(
        select(func.count(DiscountRedemption.id)).where(DiscountRedemption.code_id == code_id)
    )


def delete_discount_code(code_id: int, actor_id: int | None = None) -> None:
    """Delete a discount code that no order has used.

    Raises:
        NotFound: no such code.
        Conflict: the code has been used (``times_used`` > 0 or any redemption, even
            released): it stays for the orders' records; deactivate it instead.
    """
    code = get_discount_code(code_id)
    used = max(code.times_used, redemption_count(code.id))
    if used:
        raise Conflict(
            ngettext(
                "The code %(code)s has been used on %(num)d order and cannot be deleted.",
                "The code %(code)s has been used on %(num)d orders and cannot be deleted.",
                used,
                code=code.code,
            )
            + " Deactivate it instead (untick Active on its edit page): shoppers can then no longer use it.",
            {"code": ["Used by orders: deactivate it instead."]},
        )
    DISCOUNT_AUDIT.delete(code, actor_id)
