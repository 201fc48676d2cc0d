"""Accounts, API tokens and password-reset tokens."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.dbtypes import UTCDateTime, utcnow
from shop.extensions import db

ROLES = ("customer", "staff", "admin")
#: API token scopes. ``read``: catalog and own data; ``orders``: cart and orders;
#: ``catalog-write``: change products (staff and admin only).
SCOPES = ("read", "orders", "catalog-write")


def new_session_token() -> str:
    """Return a random token that identifies a user's current login generation."""
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    """A person with an account: a customer, staff member or admin.

    ``email`` is stored normalized (trimmed, lower-cased) and unique.
    ``session_token`` is the Flask-Login id; changing it ends every other session.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="customer")
    is_active_account: Mapped[bool] = mapped_column(default=True)
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="select"
    )

    def get_id(self) -> str:
        """Return the session identifier Flask-Login stores in the cookie."""
        return self.session_token

    @property
    def is_active(self) -> bool:  # Flask-Login
        """Whether the account may log in."""
        return self.is_active_account

    @property
    def is_staff(self) -> bool:
        """Staff and admins manage the catalog and orders."""
        return self.role in ("staff", "admin")

    @property
    def is_admin(self) -> bool:
        """Admins also manage users and roles."""
        return self.role == "admin"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class ApiToken(db.Model):
    """A bearer token for scripts. Only its SHA-256 is stored; ``prefix`` is shown to users.

    ``scopes`` is a space-separated subset of :data:`SCOPES`.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200), default="read")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def scope_list(self) -> list[str]:
        """The token's scopes as a list."""
        return [s for s in self.scopes.split() if s]


class PasswordResetToken(db.Model):
    """A single-use, expiring password-reset token; only its SHA-256 is stored."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    requested_ip: Mapped[str | None] = mapped_column(Text)
