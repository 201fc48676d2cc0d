"""Accounts, their logins, API tokens and password-reset tokens."""

from __future__ import annotations

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


#: Roles that manage the catalog and orders (:attr:`User.is_staff`).
STAFF_ROLES = ("staff", "admin")


class User(UserMixin, db.Model):
    """A person with an account: a customer, staff member or admin.

    ``email`` is stored normalized (trimmed, lower-cased) and unique. Each browser login is
    a :class:`LoginSession` row; Flask-Login's id for the user is that login's secret, which
    ``shop.auth.logins`` attaches to the instance as ``login_secret`` when it starts or
    finds the login.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="customer")
    is_active_account: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="select"
    )

    #: The secret of the login this instance was loaded for (not a column; see get_id).
    login_secret = None

    def get_id(self) -> str:
        """Return the id Flask-Login stores in the session and remember cookies: the secret
        of this browser's login, so ending that login makes every copy of them worthless.

        Raises:
            RuntimeError: the instance carries no login (start one with
                ``shop.auth.logins.start_login``).
        """
        if not self.login_secret:
            raise RuntimeError(f"{self!r} carries no login; start one with shop.auth.logins.start_login")
        return self.login_secret

    def __eq__(self, other: object) -> bool:
        # UserMixin compares get_id(), which is per login; one account is one row.
        if not isinstance(other, User):
            return NotImplemented
        if self.id is None or other.id is None:
            return self is other
        return self.id == other.id

    __hash__ = object.__hash__

    @property
    def is_active(self) -> bool:  # Flask-Login
        """Whether the account may log in."""
        return self.is_active_account

    @property
    def is_staff(self) -> bool:
        """Staff and admins manage the catalog and orders."""
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        """Admins also manage users and roles."""
        return self.role == "admin"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class LoginSession(db.Model):
    """One login of one browser, named in its session and remember cookies by a secret.

    Only the secret's SHA-256 is stored. Deleting the row ends the login wherever its
    cookies are, copies included; a login older than ``LOGIN_MAX_AGE`` is refused and
    purged by ``flask shop purge-logins``.
    """

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


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
