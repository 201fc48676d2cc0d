"""Live logins kept briefly in the cache, so that a signed-in page does not ask the database
who its visitor is (the login and account look-up of :func:`shop.auth.logins.find_login`).

An entry, under the SHA-256 of the login's secret (the secret itself is never stored),
holds the account's columns except the password hash, and when the login runs out
(``LOGIN_MAX_AGE`` after it started). It lives :data:`LOGIN_CACHE_SECONDS` at most, and
no longer than the login. The account comes back from it as a persistent instance of the
request's database session, built without a query; the password hash (and any
relationship) is loaded from the database on first use.

Entries are dropped after the commit that ends or changes the login (logout, "sign out
everywhere", a password change) or changes or deletes the account (role, disabling,
e-mail, ...), so
that commit takes effect on the next request. A request that read the database just
before such a commit may store what it read afterwards: that entry lasts
:data:`LOGIN_CACHE_SECONDS` at most. The cache fails open (``shop.cache.call_cache``):
without it every request asks the database, as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from shop.auth.models import STAFF_ROLES, LoginSession, User
from shop.cache import CACHE_DOWN, call_cache
from shop.cache_prefetch import prefetch, prefetched
from shop.extensions import cache, db

#: Seconds an entry is kept at most (a bound on a stale entry; see the module docstring).
LOGIN_CACHE_SECONDS = 60
#: The account's columns an entry holds: every one but the password hash.
COLUMNS = ("id", "email", "name", "role", "is_active_account", "created_at", "last_login_at")
_KEY = "login:%s"
_FLAG = "login_cache_forget"


def cached_account(token_hash: str, now: datetime) -> User | None:
    """The account of the live login with this secret hash, from the cache, or None (not
    cached, run out, or the cache is down: ask the database).

    The instance joins the current database session without a query (or is the one the
    session already holds).
    """
    columns = _live_entry(token_hash, now)
    if columns is None:
        return None
    held = db.session.identity_map.get(identity_key(User, columns["id"]))
    if held is not None:
        return held
    user = User(**columns)
    make_transient_to_detached(user)  # columns not given (the password hash) load on use
    db.session.add(user)
    return user


def cached_summary(secret: str, now: datetime) -> tuple[int, bool] | None:
    """``(account id, is staff)`` of the live login with this secret, from its entry (the
    one :func:`cached_account` reads), without building the account; None when the entry
    is missing or run out (ask Flask-Login) or the account is disabled."""
    columns = _live_entry(secret_hash(secret), now)
    if columns is None or not columns["is_active_account"]:
        return None
    return columns["id"], columns["role"] in STAFF_ROLES


def _live_entry(token_hash: str, now: datetime) -> dict | None:
    """The account columns of the login's entry (read ahead with the page, or now), or
    None (no entry, run out, cache down)."""
    key = _KEY % token_hash
    got = prefetched([key])
    entry = got[0] if got is not None else call_cache(cache.get, key)
    if entry is CACHE_DOWN or not isinstance(entry, tuple) or len(entry) != 2:
        return None
    expires_at, columns = entry
    if expires_at <= now or not isinstance(columns, dict):
        return None
    return columns


def secret_hash(secret: str) -> str:
    """SHA-256 hex digest of a login secret (random, so no salt is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def prefetch_login(secret: object) -> None:
    """Have the entry of the login with this secret (from the session) read with the
    page's catalog entries (``shop.cache_prefetch``)."""
    if secret and isinstance(secret, str):
        prefetch([_KEY % secret_hash(secret)])


def remember_account(token_hash: str, user: User, expires_at: datetime, now: datetime) -> None:
    """Keep the account of a live login found in the database, until ``expires_at`` (when
    the login runs out) or :data:`LOGIN_CACHE_SECONDS` from ``now``, whichever comes first."""
    seconds = min(LOGIN_CACHE_SECONDS, int((expires_at - now).total_seconds()))
    if seconds <= 0:
        return
    columns = {name: getattr(user, name) for name in COLUMNS}
    call_cache(cache.set, _KEY % token_hash, (expires_at, columns), timeout=seconds)


def forget_after_commit(session: Session, token_hashes: Iterable[str]) -> None:
    """Drop these logins' entries after the session's next commit."""
    session.info.setdefault(_FLAG, set()).update(token_hashes)


def _before_flush(session: Session, flush_context, instances) -> None:
    """A changed or deleted login, or account (then all its logins): drop their entries
    after commit."""
    touched = (*session.dirty, *session.deleted)
    forget_after_commit(session, [obj.token_hash for obj in touched if isinstance(obj, LoginSession)])
    changed = [obj.id for obj in touched if isinstance(obj, User) and obj.id]
    if changed:
        with session.no_autoflush:
            hashes = session.scalars(select(LoginSession.token_hash).where(LoginSession.user_id.in_(changed)))
            forget_after_commit(session, hashes)


def _after_commit(session: Session) -> None:
    hashes = session.info.pop(_FLAG, None)
    if hashes:
        call_cache(cache.delete_many, *[_KEY % h for h in sorted(hashes)])


def register_login_cache() -> None:
    """Install the session hooks once per process."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        # No rollback hook: dropping an entry for nothing costs one database look-up.
        event.listen(Session, "after_commit", _after_commit)
