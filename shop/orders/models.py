"""Carts, orders, order lines, order events and idempotency keys.

The cart and the order are kept apart; checkout (``orders/checkout.py``) only
coordinates them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.dbtypes import JSONType, UTCDateTime, utcnow
from shop.extensions import db

ORDER_STATUSES = (
    "pending_payment",
    "paid",
    "shipped",
    "delivered",
    "cancelled",
    "partially_refunded",
    "refunded",
)


class Cart(db.Model):
    """A shopper's cart: a customer's (``user_id``) or a guest's (``token``), never both.

    Every visitor's cart is a row, so every cart operation, the cart page, the API and
    checkout take one :class:`Cart` (as django-oscar's basket). A guest's cart is found by
    an unguessable ``token`` kept in the signed session; on login it is merged into the
    account's cart and deleted. ``updated_at`` moves with every change of a line, so
    abandoned guest carts can be purged by age (``flask shop purge-carts``).
    """

    __tablename__ = "carts"
    __table_args__ = (CheckConstraint("(user_id IS NULL) <> (token IS NULL)", name="owner_or_token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    token: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The discount code the shopper entered on the cart page (checked again at checkout).
    discount_code: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, index=True)

    items: Mapped[list[CartItem]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartItem.id"
    )

    @property
    def is_guest(self) -> bool:
        """True for a guest's cart (no account)."""
        return self.user_id is None


class CartItem(db.Model):
    """One product in a cart. ``seen_price_cents`` is the price shown when it was added."""

    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id", name="uq_cart_items_cart_product"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cart_id: Mapped[int] = mapped_column(ForeignKey("carts.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    seen_price_cents: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    cart: Mapped[Cart] = relationship(back_populates="items")
    product = relationship("Product")


class Order(db.Model):
    """A placed order. ``number`` is public and random; totals in cents of ``currency``.

    The money columns are the breakdown the shopper confirmed, kept as a snapshot:
    ``total_cents = subtotal_cents - discount_cents + shipping_cents`` plus ``tax_cents``
    when ``prices_include_tax`` is false (tax added on top, US style); when it is true the
    tax is already inside the prices (EU style) and ``tax_cents`` says how much of the
    total it is. ``tax_cents`` includes ``shipping_tax_cents``. ``tax_name``,
    ``tax_rate_bp``, ``shipping_method_name`` and ``discount_code`` are copied too, so a
    later change to a rate, a method or a code never changes a placed order.

    ``user_id`` is NULL for guest orders, which are looked up by number and ``email``.
    ``shipping_address`` is ``{name, line1, line2, city, region, postal_code, country}``.
    """

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending_payment', 'paid', 'shipped', 'delivered', 'cancelled', "
            "'partially_refunded', 'refunded')",
            name="status_valid",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(20), default="pending_payment", index=True)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_cents: Mapped[int] = mapped_column(Integer)
    shipping_cents: Mapped[int] = mapped_column(Integer, default=0)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    tax_cents: Mapped[int] = mapped_column(Integer, default=0)
    shipping_tax_cents: Mapped[int] = mapped_column(Integer, default=0)
    total_cents: Mapped[int] = mapped_column(Integer)
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False)
    tax_name: Mapped[str] = mapped_column(String(50), default="")
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    shipping_method_id: Mapped[int | None] = mapped_column(
        ForeignKey("shipping_methods.id", ondelete="SET NULL")
    )
    shipping_method_name: Mapped[str] = mapped_column(String(100), default="")
    discount_code: Mapped[str] = mapped_column(String(40), default="")
    #: Why staff must look at the order ('' when nothing is wrong), e.g. a card payment
    #: that arrived after the unpaid order had been cancelled and its stock released.
    attention: Mapped[str] = mapped_column(Text, default="")
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSONType)
    payment_provider: Mapped[str] = mapped_column(String(30), default="manual")
    payment_reference: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    #: How the parcel travels, set when staff mark the order shipped ('' before).
    carrier: Mapped[str] = mapped_column(String(50), default="", server_default="")
    tracking_number: Mapped[str] = mapped_column(String(100), default="", server_default="")
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderEvent.id"
    )
    user = relationship("User")


class OrderLine(db.Model):
    """A line of an order: SKU, name and unit price are copied at purchase time, so later
    catalog edits never change what the customer bought (as django-oscar's AbstractLine).

    ``discount_cents`` is the line's share of the order's discount and ``tax_cents`` the
    tax on what is left (at ``tax_rate_bp`` basis points), both in cents, as computed at
    checkout."""

    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(500))
    unit_price_cents: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    discount_cents: Mapped[int] = mapped_column(Integer, default=0)
    tax_cents: Mapped[int] = mapped_column(Integer, default=0)
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0)

    order: Mapped[Order] = relationship(back_populates="lines")
    # The product as it is now (None once deleted), for its picture on order pages only: the
    # line's own columns are what was bought.
    product = relationship("Product", viewonly=True)

    @property
    def line_total_cents(self) -> int:
        """Unit price times quantity, in cents."""
        return self.unit_price_cents * self.quantity


class OrderEvent(db.Model):
    """A status transition of an order: from, to, who (NULL for the system or a guest), note."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")
    actor = relationship("User")


class IdempotencyKey(db.Model):
    """An ``Idempotency-Key`` a user sent with ``POST /api/v1/orders``, kept at least 24 h.

    ``request_hash`` is the SHA-256 of the canonical request body; the same key with a
    different body is refused.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
