"""What an order costs beyond its products: shipping methods, tax rates and discount codes.

Staff manage all three under ``/admin``; the one totals calculator
(``pricing/totals.py``) reads them. A placed order keeps a snapshot of what they gave
(``orders.models.Order``), so a later change to a rate, a method or a code never changes
a placed order.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.dbtypes import JSONType, UTCDateTime, utcnow
from shop.extensions import db

#: How a shipping method's price is found: one price, or a band of the order's subtotal
#: (cents, after discount) or of its weight (grams).
RATE_KINDS = ("flat", "subtotal", "weight")

#: A discount code takes a percentage (``value`` in basis points) or a fixed amount
#: (``value`` in cents) off.
DISCOUNT_KINDS = ("percentage", "fixed")


class ShippingMethod(db.Model):
    """A way to ship an order, offered to addresses in ``countries``.

    ``countries`` is a list of ISO 3166-1 alpha-2 codes; an empty list serves every
    country. The price in cents comes from ``rate_kind``: ``flat`` is ``price_cents``;
    ``subtotal`` and ``weight`` look the order up in ``bands``, a list of
    ``[up_to, price_cents]`` pairs sorted by ``up_to`` (cents of the discounted subtotal,
    or grams), the first band whose ``up_to`` is at least the order's figure giving the
    price; an order beyond the last band cannot use the method. ``free_above_cents``
    (optional) makes shipping free from that discounted subtotal on. Delivery takes
    ``min_days`` to ``max_days`` working days.
    """

    __tablename__ = "shipping_methods"
    __table_args__ = (
        CheckConstraint("rate_kind IN ('flat', 'subtotal', 'weight')", name="rate_kind_valid"),
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
        CheckConstraint("min_days >= 0 AND max_days >= min_days", name="days_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(300), default="")
    countries: Mapped[list[str]] = mapped_column(JSONType, default=list)
    rate_kind: Mapped[str] = mapped_column(String(10), default="flat")
    price_cents: Mapped[int] = mapped_column(Integer, default=0)
    bands: Mapped[list[list[int]]] = mapped_column(JSONType, default=list)
    free_above_cents: Mapped[int | None] = mapped_column(Integer)
    min_days: Mapped[int] = mapped_column(Integer, default=1)
    max_days: Mapped[int] = mapped_column(Integer, default=5)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def serves(self, country: str) -> bool:
        """True if the method ships to ``country`` (an ISO 3166-1 alpha-2 code)."""
        return not self.countries or country.upper() in self.countries


class TaxRate(db.Model):
    """A tax rate for a country, or for one region of it (``region`` '' is the whole
    country). ``rate_bp`` is in basis points: 2000 is 20 %. A region's own rate is used
    over its country's (as Solidus' zones, most specific first)."""

    __tablename__ = "tax_rates"
    __table_args__ = (
        UniqueConstraint("country", "region", name="uq_tax_rates_country_region"),
        CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name="rate_bp_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str] = mapped_column(String(100), default="")
    name: Mapped[str] = mapped_column(String(50))
    rate_bp: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class DiscountCode(db.Model):
    """A voucher code a shopper types to get money off (as Saleor's vouchers).

    ``kind`` ``percentage`` takes ``value`` basis points off the eligible lines;
    ``fixed`` takes ``value`` cents off them (never more than they cost). Eligible lines
    are every line, or those whose product is in ``category`` or below it. The order's
    subtotal must reach ``min_subtotal_cents``; the code works from ``starts_at`` until
    ``ends_at`` (either open); ``max_uses`` caps all orders, ``max_uses_per_customer``
    each customer's (by account, or by e-mail for guests). ``times_used`` counts the
    placed, uncancelled orders that used the code; it is raised with a conditional
    UPDATE so it never passes ``max_uses`` however many checkouts race.
    """

    __tablename__ = "discount_codes"
    __table_args__ = (
        CheckConstraint("kind IN ('percentage', 'fixed')", name="kind_valid"),
        CheckConstraint("value > 0", name="value_positive"),
        CheckConstraint("kind <> 'percentage' OR value <= 10000", name="percentage_at_most_all"),
        CheckConstraint("times_used >= 0", name="times_used_non_negative"),
        CheckConstraint("max_uses IS NULL OR times_used <= max_uses", name="times_used_within_max"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[int] = mapped_column(Integer)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"))
    min_subtotal_cents: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_uses: Mapped[int | None] = mapped_column(Integer)
    max_uses_per_customer: Mapped[int | None] = mapped_column(Integer)
    times_used: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    category = relationship("Category")


class DiscountRedemption(db.Model):
    """One order's use of a discount code. ``released_at`` is set when the order is
    cancelled and the use given back (exactly once: only the UPDATE that sets it gives
    the use back)."""

    __tablename__ = "discount_redemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("discount_codes.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
