"""Logins: one :class:`~shop.auth.models.LoginSession` row per browser login.

A Flask session lives in a signed cookie on the client, so the server cannot take it back;
a copy of the cookie made before logout would keep working for as long as the account's
id in it did. Each login therefore gets a random secret, which is Flask-Login's id for
the user (in the ``session`` cookie and in the ``remember_token`` cookie). Only the
secret's SHA-256 is stored. Deleting the row ends that login: every copy of its cookies
then loads an anonymous visitor.

Services here take plain arguments, flush but never commit.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from shop.auth import login_cache
from shop.auth.models import LoginSession, User
from shop.dbtypes import utcnow
from shop.extensions import db

__all__ = [
    "start_login",
    "find_login",
    "end_login",
    "end_all_logins",
    "count_logins",
    "purge_logins",
]


_hash = login_cache.secret_hash


def _max_age() -> timedelta:
    """How long a login lasts at most, whatever its cookies say (``LOGIN_MAX_AGE``)."""
    return current_app.config["LOGIN_MAX_AGE"]


def start_login(user: User, now: datetime | None = None) -> str:
    """Record a new login of ``user`` and return its secret (also set as ``user.login_secret``).

    The user's logins that are past ``LOGIN_MAX_AGE`` are deleted on the way, so an
    account's rows stay few even without ``purge-logins``.
    """
    now = now or utcnow()
    db.session.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user.id, LoginSession.created_at <= now - _max_age()
        )
    )
    secret = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, token_hash=_hash(secret), created_at=now))
    db.session.flush()
    user.login_secret = secret
    return secret


def find_login(secret: str | None, now: datetime | None = None) -> User | None:
    """The active account whose live login has this secret (its ``login_secret`` set), or None.

    None for an unknown or ended login, one older than ``LOGIN_MAX_AGE``, a disabled
    account, and anything that is not a string (a tampered or old-format cookie).
    """
    if not secret or not isinstance(secret, str):
        return None
    now = now or utcnow()
    token_hash = _hash(secret)
    user = login_cache.cached_account(token_hash, now)
    if user is None:
        row = db.session.execute(
            select(User, LoginSession.created_at)
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(LoginSession.token_hash == token_hash, LoginSession.created_at > now - _max_age())
        ).first()
        if row is None or not row[0].is_active:
            return None
        user = row[0]
        login_cache.remember_account(token_hash, user, row[1] + _max_age(), now)
    if not user.is_active:
        return None
    user.login_secret = secret
    return user


def end_login(secret: str | None) -> bool:
    """End the login with this secret (idempotent); True if it was live."""
    if not secret or not isinstance(secret, str):
        return False
    token_hash = _hash(secret)
    login_cache.forget_after_commit(db.session(), [token_hash])
    ended = db.session.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash)).rowcount
    return ended > 0


def end_all_logins(user: User) -> int:
    """End every login of ``user`` on every browser; returns how many there were."""
    hashes = db.session.scalars(select(LoginSession.token_hash).where(LoginSession.user_id == user.id))
    login_cache.forget_after_commit(db.session(), hashes)
    return db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id)).rowcount


def count_logins(user: User, now: datetime | None = None) -> int:
    """How many live logins ``user`` has (browsers signed in, this one included)."""
    now = now or utcnow()
    return db.session.scalar(
        select(func.count())
        .select_from(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.created_at > now - _max_age())
    )


def purge_logins(now: datetime | None = None) -> int:
    """Delete every login older than ``LOGIN_MAX_AGE`` (they no longer work); returns the count."""
    now = now or utcnow()
    return db.session.execute(
        delete(LoginSession).where(LoginSession.created_at <= now - _max_age())
    ).rowcount
