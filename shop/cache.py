"""Cache keys and invalidation for the catalog (the only module that names cache keys).

Catalog entries (rendered page fragments, product JSON) carry a *catalog version* in
their key. Any committed change to a product, a category or stock bumps the version,
so the next request sees fresh data on every worker: invalidation happens after commit,
never before (a rolled-back change invalidates nothing).
"""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from shop.catalog.models import Category, Product
from shop.extensions import cache

_VERSION_KEY = "catalog:version"
_FLAG = "catalog_changed"


def catalog_version() -> int:
    """Current catalog version (0 when the cache has none yet)."""
    try:
        return int(cache.get(_VERSION_KEY) or 0)
    except Exception:  # cache down: behave as uncached
        return -1


def bump_catalog_version() -> None:
    """Invalidate every catalog entry at once."""
    try:
        if cache.get(_VERSION_KEY) is None:
            cache.set(_VERSION_KEY, 1, timeout=0)
        else:
            # Flask-Caching's Cache has no inc(); the backend's is atomic on Redis (INCR).
            cache.cache.inc(_VERSION_KEY)
    except Exception:
        pass


def _get_or_produce(key: str, produce: Callable[[], Any], timeout: int | None) -> Any:
    """The cached value under ``key``, or ``produce()`` stored for ``timeout`` seconds;
    ``produce()`` alone when the cache is down."""
    try:
        value = cache.get(key)
    except Exception:
        return produce()
    if value is None:
        value = produce()
        try:
            cache.set(key, value, timeout=timeout)
        except Exception:
            pass
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
