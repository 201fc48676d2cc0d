"""Discount codes: whether a code applies to an order, what it takes off, and its uses.

A code's use is counted when the order is placed (:func:`redeem`, in the order's
transaction) and given back when the order is cancelled (:func:`release`). The count is
raised with a conditional ``UPDATE ... WHERE times_used < max_uses`` checked by row count,
so however many checkouts race for a code's last use exactly one gets it; the same
UPDATE's row lock makes a customer's concurrent checkouts wait for each other, so the
per-customer limit holds too (on PostgreSQL; SQLite has one writer at a time anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update

from shop.catalog.models import Category
from shop.dbtypes import utcnow
from shop.exceptions import Conflict
from shop.extensions import db
from shop.money import display_money
from shop.pricing.arithmetic import allocate, round_half_up
from shop.pricing.models import DiscountCode, DiscountRedemption


def normalize_code(text: str | None) -> str:
    """A typed code as stored: trimmed and upper-case (codes are not case-sensitive)."""
    return (text or "").strip().upper()


def find_code(text: str | None) -> DiscountCode | None:
    """The discount code the shopper typed, or None."""
    code = normalize_code(text)
    if not code or len(code) > 40:
        return None
    return db.session.scalar(select(DiscountCode).where(DiscountCode.code == code))


@dataclass(frozen=True)
class Customer:
    """Who is ordering, for the per-customer limit: an account, or a guest's e-mail
    (None before a guest has given it, e.g. on the cart page)."""

    user_id: int | None = None
    email: str | None = None


def _category_subtree(root_id: int) -> set[int]:
    """The category and every category below it."""
    children: dict[int | None, list[int]] = {}
    for cid, parent in db.session.execute(select(Category.id, Category.parent_id)):
        children.setdefault(parent, []).append(cid)
    found, stack = set(), [root_id]
    while stack:
        cid = stack.pop()
        if cid not in found:
            found.add(cid)
            stack.extend(children.get(cid, []))
    return found


def eligible(code: DiscountCode, category_ids: Sequence[int | None]) -> list[bool]:
    """For each line's product category, whether the code applies to that line."""
    if code.category_id is None:
        return [True] * len(category_ids)
    subtree = _category_subtree(code.category_id)
    return [cid in subtree for cid in category_ids]


def uses_by(code: DiscountCode, customer: Customer) -> int:
    """How many placed, uncancelled orders of this customer used the code."""
    clauses = []
    if customer.user_id is not None:
        clauses.append(DiscountRedemption.user_id == customer.user_id)
    if customer.email:
        clauses.append(func.lower(DiscountRedemption.email) == customer.email.lower())
    if not clauses:
        return 0
    return db.session.scalar(
        select(func.count())
        .select_from(DiscountRedemption)
        .where(
            DiscountRedemption.code_id == code.id,
            DiscountRedemption.released_at.is_(None),
            or_(*clauses),
        )
    )


def refusal(
    code: DiscountCode | None,
    typed: str,
    subtotal_cents: int,
    applies: Sequence[bool],
    customer: Customer,
    now: datetime | None = None,
) -> str | None:
    """Why the code does not apply to this order, in words for the shopper; None if it does.

    Checked in this order: unknown or inactive, not started, expired, used up, used up by
    this customer, below the minimum subtotal (``subtotal_cents`` before discount), no
    line it applies to.
    """
    shown = normalize_code(typed)
    now = now or utcnow()
    if code is None or not code.is_active:
        return f"There is no discount code {shown}."
    if code.starts_at is not None and now < code.starts_at:
        return f"The code {shown} is not valid yet."
    if code.ends_at is not None and now >= code.ends_at:
        return f"The code {shown} has expired."
    if code.max_uses is not None and code.times_used >= code.max_uses:
        return f"The code {shown} has been used up."
    if code.max_uses_per_customer is not None and uses_by(code, customer) >= code.max_uses_per_customer:
        return f"You have already used the code {shown}."
    if subtotal_cents < code.min_subtotal_cents:
        return f"The code {shown} needs a subtotal of at least {display_money(code.min_subtotal_cents)}."
    if not any(applies):
        return f"The code {shown} does not apply to the products in your cart."
    return None


def line_discounts(code: DiscountCode, line_subtotals: Sequence[int], applies: Sequence[bool]) -> list[int]:
    """What the code takes off each line, in cents.

    A percentage code takes ``value`` basis points of the eligible lines' sum, rounded
    half-up once (:func:`round_half_up`); a fixed code takes ``value`` cents, never more
    than the eligible lines cost. The amount is then spread over the eligible lines in
    proportion to their subtotals (:func:`allocate`), so the parts add up exactly.
    """
    weights = [s if a else 0 for s, a in zip(line_subtotals, applies, strict=True)]
    base = sum(weights)
    if code.kind == "percentage":
        amount = round_half_up(base * code.value, 10_000)
    else:
        amount = min(code.value, base)
    return allocate(amount, weights)


def redeem(code_id: int, order_id: int, customer: Customer, amount_cents: int) -> None:
    """Count one use of the code for a placed order, in the order's transaction.

    Raises:
        Conflict: the code's last use went to another order meanwhile, or this customer
            used up their uses meanwhile; the caller rolls back and nothing is placed.
    """
    taken = db.session.execute(
        update(DiscountCode)
        .where(
            DiscountCode.id == code_id,
            or_(DiscountCode.max_uses.is_(None), DiscountCode.times_used < DiscountCode.max_uses),
        )
        .values(times_used=DiscountCode.times_used + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    code = db.session.get(DiscountCode, code_id, populate_existing=True)
    if taken != 1:
        raise Conflict(
            f"The code {code.code} has just been used up; your order was not placed.",
            {"discount_code": [f"The code {code.code} has been used up."]},
        )
    if code.max_uses_per_customer is not None and uses_by(code, customer) >= code.max_uses_per_customer:
        raise Conflict(
            f"You have already used the code {code.code}; your order was not placed.",
            {"discount_code": [f"You have already used the code {code.code}."]},
        )
    db.session.add(
        DiscountRedemption(
            code_id=code_id,
            order_id=order_id,
            user_id=customer.user_id,
            email=customer.email or "",
            amount_cents=amount_cents,
        )
    )
    db.session.flush()


def release(order_id: int) -> bool:
    """Give back the code use of a cancelled order, exactly once.

    Only the UPDATE that marks the redemption released lowers the code's count, so two
    cancellations (or a retry) give the use back once. Returns True if a use was given back.
    """
    redemption_id = db.session.scalar(
        select(DiscountRedemption.id).where(
            DiscountRedemption.order_id == order_id, DiscountRedemption.released_at.is_(None)
        )
    )
    if redemption_id is None:
        return False
    marked = db.session.execute(
        update(DiscountRedemption)
        .where(DiscountRedemption.id == redemption_id, DiscountRedemption.released_at.is_(None))
        .values(released_at=utcnow())
        .returning(DiscountRedemption.code_id)
    ).scalar()
    if marked is None:
        return False
    db.session.execute(
        update(DiscountCode)
        .where(DiscountCode.id == marked, DiscountCode.times_used > 0)
        .values(times_used=DiscountCode.times_used - 1)
        .execution_options(synchronize_session=False)
    )
    return True
