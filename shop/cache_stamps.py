"""The cache's health guard, the catalog version and the products' stock stamps: the keys
that say whether a cached entry is still current (:mod:`shop.cache` keeps the entries and
explains the scheme).

Every call to the cache goes through :func:`_call` (``call_cache``), which fails open: a
Redis that refuses or hangs costs one call at most its socket timeout, then each process
leaves the cache alone for ``CACHE_RETRY_INTERVAL`` seconds. A version bump or a restamp
that could not reach the cache is owed (``CacheGuard.bump_owed``) and made as soon as the
cache answers.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any, Callable, Iterable

from flask import current_app, has_app_context

from shop.extensions import cache

_VERSION_KEY = "catalog:version"
_STAMP_KEY = "catalog:stock:%d"
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


#: :func:`_call` and its "the cache did not answer" value, for the modules that keep
#: per-visitor entries (``shop.auth.login_cache``, ``shop.orders.cart_counts``) with the
#: same fail-open guard.
call_cache = _call
CACHE_DOWN = _DOWN


def catalog_version() -> int:
    """Current catalog version: a random positive number, replaced by every catalog change
    (and made afresh when the cache has none, e.g. after a Redis restart, so a value once
    replaced never comes back); -1 when the cache is down, which callers treat as "do not
    cache"."""
    if _guard().bump_owed:
        bump_catalog_version()
        if _guard().bump_owed:
            return -1
    return _version(_call(cache.get, _VERSION_KEY))


def _version(value: Any) -> int:
    """The version read from the cache (``_DOWN``: -1; none yet: a new one, ``SET NX``)."""
    if value is _DOWN:
        return -1
    if value is None:
        if _call(cache.add, _VERSION_KEY, _new_stamp(), timeout=0) is _DOWN:
            return -1
        value = _call(cache.get, _VERSION_KEY)
        if value is _DOWN or value is None:
            return -1
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _bump() -> None:
    cache.set(_VERSION_KEY, _new_stamp(), timeout=0)


def bump_catalog_version() -> None:
    """Invalidate every catalog entry at once; if the cache is down, owe the bump and make
    it as soon as the cache answers again (see :func:`catalog_version`)."""
    if not has_app_context():
        return
    guard = _guard()
    guard.bump_owed = True
    if _call(_bump) is not _DOWN:
        guard.bump_owed = False


# --- Per-product stock stamps ------------------------------------------------------------


def _stamp_key(product_id: int) -> str:
    return _STAMP_KEY % product_id


def _new_stamp() -> int:
    # A fresh random value per change, never a counter: a stamp once replaced can never
    # come back (not even after Redis evicted the key), so an entry built before a change
    # can never match again, whatever order concurrent changes' writes arrive in.
    return random.getrandbits(62) + 1


def stock_stamps(product_ids: Iterable[int]) -> dict[int, int] | None:
    """The current stock stamp of each product, creating the missing ones.

    Read it *before* reading the products' stock from the database: a change committed
    after that read sets a new stamp after its commit, so an entry built from the read is
    never taken as fresh afterwards (see the module docstring).

    Returns:
        ``{product_id: stamp}``, or None when the cache is down (then do not cache).
    """
    ids = sorted(set(product_ids))
    if not ids or _guard().bump_owed:
        return {} if ids == [] else None
    values = _call(cache.get_many, *[_stamp_key(i) for i in ids])
    if values is _DOWN:
        return None
    stamps = dict(zip(ids, values, strict=True))
    for i in [i for i in ids if stamps[i] is None]:
        # SET NX: two readers creating the same stamp agree on one value (the first one's).
        token = _new_stamp()
        added = _call(cache.add, _stamp_key(i), token, timeout=0)
        if added is _DOWN:
            return None
        stamps[i] = token if added else _call(cache.get, _stamp_key(i))
        if stamps[i] is None or stamps[i] is _DOWN:
            return None
    return stamps


#: The stamp of "any product's stock" (no product has id 0): replaced with every product's
#: stamp, for entries that count stock across many products (search's in-stock facet).
ANY_STOCK = 0


def restamp(product_ids: Iterable[int]) -> None:
    """Give each product a new stock stamp (after a commit changed their stock), and
    :data:`ANY_STOCK` a new one too."""
    ids = sorted(set(product_ids))
    if not ids or not has_app_context():
        return
    ids.append(ANY_STOCK)
    if _call(cache.set_many, {_stamp_key(i): _new_stamp() for i in ids}, timeout=0) is _DOWN:
        # The stamps could not be changed: invalidate everything once the cache is back.
        _guard().bump_owed = True
