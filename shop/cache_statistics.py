"""Slowly changing statistics (search's document counts, mean lengths, kind vocabulary):
kept in the shared cache for a timeout rather than under the catalog version, so that the
stock changes of every order do not throw them away, and kept by each process for the
catalog version it read them under (see :func:`cached_statistic`). The cache fails open
as the catalog's entries do (:mod:`shop.cache_stamps`)."""

from __future__ import annotations

import time
from typing import Any, Callable

from flask import current_app

from shop.cache import request_catalog_version
from shop.cache_stamps import _DOWN, _call
from shop.extensions import cache


def cached_statistic(parts: tuple, produce: Callable[[], Any], timeout: int = 600) -> Any:
    """Return a slowly changing statistic (e.g. search document frequencies) from the cache,
    computing and storing it for ``timeout`` seconds when missing.

    Unlike :func:`shop.cache.cached_catalog` the key has no catalog version: a statistic may be up to
    ``timeout`` seconds stale, so stock changes from every order do not throw it away.

    Each process also keeps what it read for ``STATISTIC_LOCAL_SECONDS`` (at most
    ``timeout``), for the catalog version it read it under: a search reads some ten
    statistics, each a cache round trip and an unpickling otherwise, and a change to the
    catalog (a new version) reads them again at once. With the cache down, a statistic is
    produced once per process and kept as long, not produced for every request (the kind
    vocabulary alone is a pass over every title).
    """
    return cached_statistics([parts], lambda _parts: produce(), timeout)[0]


def cached_statistics(many: list[tuple], produce: Callable[[tuple], Any], timeout: int = 600) -> list[Any]:
    """Several statistics of one kind at once (e.g. the document counts of a query's
    words), as :func:`cached_statistic` reads one: those this process keeps, then the
    others in one cache round trip (``MGET``); ``produce(parts)`` works out each one
    missing there, and they are stored in one more (``SET`` of many).

    Returns:
        The values, in the order of ``many``.
    """
    keys = [_statistic_key(parts) for parts in many]
    version = request_catalog_version()
    memo = _statistics_memo()
    now = time.monotonic()
    values: dict[str, Any] = {}
    for key in keys:
        kept = memo.get(key)
        if kept is not None and kept[0] == version and now < kept[1]:
            values[key] = kept[2]
    wanted = [(key, parts) for key, parts in zip(keys, many, strict=True) if key not in values]
    if wanted:
        got = _call(cache.get_many, *[key for key, _ in wanted])
        fresh = {}
        for (key, parts), value in zip(wanted, [None] * len(wanted) if got is _DOWN else got, strict=True):
            if value is None:
                value = fresh[key] = produce(parts)
            values[key] = value
            _keep(key, value, version, timeout, now)
        if fresh and got is not _DOWN:
            _call(cache.set_many, fresh, timeout=timeout)
    return [values[key] for key in keys]


def store_statistic(parts: tuple, value: Any, timeout: int = 600) -> None:
    """Store ``value`` as the statistic :func:`cached_statistic` reads under ``parts`` (one
    pass that works out two statistics stores both); in the cache only when it is up."""
    key = _statistic_key(parts)
    _call(cache.set, key, value, timeout=timeout)
    _keep(key, value, request_catalog_version(), timeout, time.monotonic())


#: Seconds a process keeps a statistic it read (:func:`cached_statistic`).
STATISTIC_LOCAL_SECONDS = 60
#: At most this many statistics are kept per process (then it starts afresh).
STATISTIC_LOCAL_LIMIT = 4096


def _statistics_memo() -> dict[str, tuple[int, float, Any]]:
    """Per process: statistic key -> (catalog version, monotonic expiry, value)."""
    store = current_app.extensions.get("shop_statistics_local")
    if store is None or len(store) > STATISTIC_LOCAL_LIMIT:
        store = current_app.extensions["shop_statistics_local"] = {}
    return store


def _keep(key: str, value: Any, version: int, timeout: int, now: float) -> None:
    """Keep a statistic in this process for the catalog version it was read under, for
    ``STATISTIC_LOCAL_SECONDS`` from ``now`` (monotonic seconds) at most ``timeout``."""
    _statistics_memo()[key] = (version, now + min(timeout, STATISTIC_LOCAL_SECONDS), value)


def _statistic_key(parts: tuple) -> str:
    """The cache key of a statistic."""
    return "stat:" + ":".join(str(p) for p in parts)
