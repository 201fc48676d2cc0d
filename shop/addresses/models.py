"""The address book: a customer's saved postal addresses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Select, String, select, text
from sqlalchemy.orm import Mapped, mapped_column

from shop.dbtypes import UTCDateTime, utcnow
from shop.extensions import db


class Address(db.Model):
    """One saved address of a customer, with the fields of an order's shipping address.

    At most one address of a user is the default (``is_default``): the services keep it
    so, and a partial unique index (on SQLite and PostgreSQL) refuses a second one. The
    fields hold what :func:`shop.addresses.validation.validate_address` returned, so a
    saved address is always valid for its country when it was saved.
    """

    __tablename__ = "addresses"
    __table_args__ = (
        Index(
            "uq_addresses_user_id_default",
            "user_id",
            unique=True,
            sqlite_where=text("is_default = 1"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(100), default="")
    postal_code: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    @classmethod
    def of_user(cls, user_id: int) -> Select:
        """A select of the user's addresses: the default first, then the most recently added."""
        return (
            select(cls)
            .where(cls.user_id == user_id)
            .order_by(cls.is_default.desc(), cls.created_at.desc(), cls.id.desc())
        )

    def __repr__(self) -> str:
        return f"<Address {self.id} of user {self.user_id}{' (default)' if self.is_default else ''}>"
