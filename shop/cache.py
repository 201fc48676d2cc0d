"""Cache keys and invalidation for the catalog (the only module that names cache keys).

Catalog entries (rendered page fragments, product JSON) carry a *catalog version* in
their key. Any committed change to a product, a category or stock bumps the version,
so the next request sees fresh data on every worker: invalidation happens after commit,
never before (a rolled-back change invalidates nothing).

The cache fails open and fast: a Redis that refuses or hangs costs one call at most its
socket timeout (``REDIS_SOCKET_TIMEOUT``); after a failure each process leaves the cache
alone for ``CACHE_RETRY_INTERVAL`` seconds and builds pages from the database. A version
bump that could not reach the cache is owed and made as soon as the cache answers, so
pages cached before the outage are not served after it.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from shop.catalog.models import Category, Product
from shop.extensions import cache

_VERSION_KEY = "catalog:version"
_FLAG = "catalog_changed"
_GUARD = "shop_cache_guard"
#: What :func:`_call` returns when the cache did not answer.
_DOWN = object()

log = logging.getLogger(__name__)


class CacheGuard:
    """One app's view of the cache's health (one per process in production).

    ``down_until`` is the ``time.monotonic()`` before which the cache is not asked again;
    ``bump_owed`` says a catalog change has not reached the cache yet.
    """

    def __init__(self, retry_interval: float):
        self.retry_interval = retry_interval
        self.down_until = 0.0
        self.failing = False
        self.bump_owed = False


def _guard() -> CacheGuard:
    guard = current_app.extensions.get(_GUARD)
    if guard is None:
        guard = current_app.extensions[_GUARD] = CacheGuard(current_app.config.get("CACHE_RETRY_INTERVAL", 5))
    return guard


def _call(fn: Callable[..., Any], *args, **kwargs) -> Any:
    """``fn(*args, **kwargs)`` against the cache, or :data:`_DOWN` if the cache fails now or
    failed less than ``CACHE_RETRY_INTERVAL`` seconds ago (then it is not even asked)."""
    guard = _guard()
    if guard.failing and time.monotonic() < guard.down_until:
        return _DOWN
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # any backend error: the cache is an optimisation
        if not guard.failing:
            log.warning(
                "Cache unreachable (%s: %s); pages are built without it, retrying every %ss",
                exc.__class__.__name__,
                exc,
                guard.retry_interval,
            )
        guard.failing = True
        guard.down_until = time.monotonic() + guard.retry_interval
        return _DOWN
    if guard.failing:
        log.info("Cache reachable again")
        guard.failing = False
    return result


def catalog_version() -> int:
    """Current catalog version (0 when the cache has none yet; -1 when the cache is down,
    which callers treat as "do not cache")."""
    if _guard().bump_owed:
        bump_catalog_version()
        if _guard().bump_owed:
            return -1
    value = _call(cache.get, _VERSION_KEY)
    if value is _DOWN:
        return -1
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return -1


def _bump() -> None:
    if cache.get(_VERSION_KEY) is None:
        cache.set(_VERSION_KEY, 1, timeout=0)
    else:
        # Flask-Caching's Cache has no inc(); the backend's is atomic on Redis (INCR).
        cache.cache.inc(_VERSION_KEY)


def bump_catalog_version() -> None:
    """Invalidate every catalog entry at once; if the cache is down, owe the bump and make
    it as soon as the cache answers again (see :func:`catalog_version`)."""
    if not has_app_context():
        return
    guard = _guard()
    guard.bump_owed = True
    if _call(_bump) is not _DOWN:
        guard.bump_owed = False


def _get_or_produce(key: str, produce: Callable[[], Any], timeout: int | None) -> Any:
    """The cached value under ``key``, or ``produce()`` stored for ``timeout`` seconds;
    ``produce()`` alone when the cache is down."""
    value = _call(cache.get, key)
    if value is _DOWN:
        return produce()
    if value is None:
        value = produce()
        _call(cache.set, key, value, timeout=timeout)
    return value


def cached_catalog(parts: tuple, produce: Callable[[], Any], timeout: int | None = None) -> Any:
    """Return the cached value for ``parts`` or compute it with ``produce()`` and store it.

    Only store plain data or rendered strings, never ORM objects.
    """
    version = catalog_version()
    if version < 0:
        return produce()
    return _get_or_produce("catalog:v%s:%s" % (version, ":".join(str(p) for p in parts)), produce, timeout)


def cached_statistic(parts: tuple, produce: Callable[[], Any], timeout: int = 600) -> Any:
    """Return a slowly changing statistic (e.g. search document frequencies) from the cache,
    computing and storing it for ``timeout`` seconds when missing.

    Unlike :func:`cached_catalog` the key has no catalog version: a statistic may be up to
    ``timeout`` seconds stale, so stock changes from every order do not throw it away.
    Falls back to ``produce()`` when the cache is down.
    """
    return _get_or_produce("stat:" + ":".join(str(p) for p in parts), produce, timeout)


def mark_catalog_changed(session: Session) -> None:
    """Flag the session so the catalog version is bumped after its next commit.

    Call this after Core statements that change products (e.g. stock allocation),
    which the ORM flush hook below cannot see.
    """
    session.info[_FLAG] = True


def _before_flush(session: Session, flush_context, instances) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, (Product, Category)):
            session.info[_FLAG] = True
            return


def _after_commit(session: Session) -> None:
    if session.info.pop(_FLAG, False):
        bump_catalog_version()


def _after_rollback(session: Session) -> None:
    session.info.pop(_FLAG, None)


def register_cache_invalidation() -> None:
    """Install the session hooks once per process."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", lambda s, prev: _after_rollback(s))
