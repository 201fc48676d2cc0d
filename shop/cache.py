"""Cache keys and validity for the catalog (with :mod:`shop.cache_stamps`, which keeps the
catalog version, the stock stamps and the fail-open guard, and :mod:`shop.cache_statistics`,
the only modules that name cache keys; the session hooks that invalidate after a commit are
in :mod:`shop.cache_invalidation`).

Catalog entries (rendered page fragments, whole public pages, product JSON) are stored
with the *catalog version* they were built for, a random number. A committed change to a
product's name, price, status, category or text, or to a category, bumps the version, so the next request on every worker
rebuilds what it reads. Invalidation happens after commit, never before (a rolled-back
change invalidates nothing).

Stock changes (a sale, a cancellation, a staff stock edit) do not bump the version: each
product has a *stock stamp* of its own, a random value replaced after every commit that
changed its stock. An entry that shows stock (a product's JSON and page, a listing page)
keeps the stamps of its products as they were read *before* their stock was read from the
database; it is served only while all of them are unchanged. So a sale changes what the
pages showing that product say at once, and every other cached page stays cached.

A request reads the version, all its entries and their products' stamps in one round trip
(``MGET``): each process remembers which products an entry showed last time and asks for
their stamps with it (a second round trip only when that guess was wrong). Small entries
that show no stock (the category tree, the sidebar) are also kept in process memory for
the version they were built for (slowly changing statistics, which are kept apart from
the catalog version, are in :mod:`shop.cache_statistics`). Versions and stamps are random
values, never counters, so a value once replaced never comes back, even after Redis lost
its keys.

The cache fails open and fast: a Redis that refuses or hangs costs one call at most its
socket timeout (``REDIS_SOCKET_TIMEOUT``); after a failure each process leaves the cache
alone for ``CACHE_RETRY_INTERVAL`` seconds and builds pages from the database. A version
bump that could not reach the cache is owed and made as soon as the cache answers, so
pages cached before the outage are not served after it.
"""

from __future__ import annotations

from typing import Any, Callable

from flask import current_app, has_request_context, request

from shop.cache_prefetch import keep_prefetched, take_prefetch
from shop.cache_stamps import (  # noqa: F401  (also the public names of this module)
    _DOWN,
    _VERSION_KEY,
    ANY_STOCK,
    CACHE_DOWN,
    CacheGuard,
    _call,
    _guard,
    _stamp_key,
    _version,
    bump_catalog_version,
    call_cache,
    catalog_version,
    restamp,
    stock_stamps,
)
from shop.extensions import cache


class Stamped:
    """A produced value that shows the stock of some products, with the stock stamps
    (:func:`stock_stamps`) read before that stock was read.

    ``stamps`` is ``{product_id: stamp}``; None means "do not cache" (the cache was down).
    """

    __slots__ = ("value", "stamps")

    def __init__(self, value: Any, stamps: dict[int, int] | None):
        self.value = value
        self.stamps = stamps


Producer = Callable[[dict[str, Any], dict[str, Any]], Any]


def _entry_key(parts: tuple) -> str:
    return "catalog:e:" + ":".join(str(p) for p in parts)


def cached_entries(
    specs: dict[str, tuple[tuple, Producer]], timeout: int | None = None, with_stamps: bool = False
) -> Any:
    """Several catalog entries of one request, read in one cache round trip (plus one for
    the stock stamps of the entries that show stock).

    Args:
        specs: ``{name: (key parts, produce)}``. A missing or stale entry is produced by
            ``produce(values, stamps)`` (in the order given, so a later producer can use an
            earlier entry: ``values[name]``, and ``stamps[name]``, the stamps that entry
            was checked or built against). ``produce`` returns the plain value (valid until
            the catalog version changes) or a :class:`Stamped` value (also valid only while
            each of its products' stock stamps is unchanged).
        timeout: seconds an entry is kept (default: the cache's default timeout).
        with_stamps: also return the stock stamps every entry depends on.
    Returns:
        ``{name: value}`` (plain data or rendered strings, never ORM objects); with
        ``with_stamps``, ``(values, stamps)`` where ``stamps`` is ``{product_id: stamp}`` of
        all the entries together, or None if one of them could not be cached.
    """
    names = list(specs)
    keys = [_entry_key(specs[n][0]) for n in names]
    local = [specs[n][0][0] in LOCAL_KINDS for n in names]
    version, current = _read_current(names, keys, local)
    values: dict[str, Any] = {}
    stamps: dict[str, Any] = {}
    fresh: dict[str, Any] = {}
    uncacheable = False
    for name, key, here in zip(names, keys, local, strict=True):
        entry = current.get(name)
        if entry is not None:
            values[name], stamps[name] = entry[2], entry[1]
        else:
            produced = specs[name][1](values, stamps)
            stamped = isinstance(produced, Stamped)
            values[name], stamps[name] = (produced.value, produced.stamps) if stamped else (produced, None)
            if stamped and produced.stamps is None:
                uncacheable = True  # the cache was down while building: do not store it
            elif version >= 0:
                fresh[key] = (version, stamps[name], values[name])
        if here and version >= 0 and stamps[name] is None:
            _local()[key] = (version, values[name])
    if fresh:
        _call(cache.set_many, fresh, timeout=timeout)
    memo = _deps_memo()
    for name, key in zip(names, keys, strict=True):
        if stamps[name]:
            memo[key] = tuple(stamps[name])
    _collect(stamps, version < 0 or uncacheable)
    if not with_stamps:
        return values
    return values, _merged_stamps(stamps, version < 0 or uncacheable)


def _merged_stamps(stamps: dict[str, dict | None], uncacheable: bool) -> dict[int, int] | None:
    """All entries' stamps as one ``{product_id: stamp}`` (None: something was not cacheable)."""
    if uncacheable:
        return None
    merged: dict[int, int] = {}
    for one in stamps.values():
        merged.update(one or {})
    return merged


#: Kinds of entry (first key part) also kept in each process's memory for the catalog
#: version they were built for: small, read by many pages, and never showing stock.
LOCAL_KINDS = frozenset({"category_tree", "sidebar", "category", "category-ids", "brands", "category-table"})
#: At most this many entries are kept in a process's memory (then it starts afresh).
LOCAL_LIMIT = 512
_LOCAL_ATTR = "_shop_catalog_version"


def _local() -> dict[str, tuple[int, Any]]:
    store = current_app.extensions.get("shop_cache_local")
    if store is None or len(store) > LOCAL_LIMIT:
        store = current_app.extensions["shop_cache_local"] = {}
    return store


def _request_version() -> int | None:
    """The catalog version this request already read (one read per request is enough)."""
    return getattr(request, _LOCAL_ATTR, None) if has_request_context() else None


def _remember_version(version: int) -> None:
    if has_request_context() and version >= 0:
        setattr(request, _LOCAL_ATTR, version)


def request_catalog_version() -> int:
    """The catalog version this request read, read now if it has not (one cache round
    trip); -1 when the cache is down."""
    version = _request_version()
    if version is None:
        version = catalog_version()
        _remember_version(version)
    return version


def _deps_memo() -> dict[str, tuple[int, ...]]:
    """Per process: the products each stock-showing entry had when last read, so that their
    stamps are asked for in the same round trip as the entry itself."""
    store = current_app.extensions.get("shop_cache_deps")
    if store is None or len(store) > DEPS_LIMIT:
        store = current_app.extensions["shop_cache_deps"] = {}
    return store


#: At most this many entries' product ids are remembered per process.
DEPS_LIMIT = 4096


def _read_current(names: list[str], keys: list[str], local: list[bool]) -> tuple[int, dict[str, tuple]]:
    """The catalog version (-1: cache down) and the entries under ``keys`` that are still
    current: built for that version, and showing stock only under unchanged stamps."""
    if _guard().bump_owed:
        bump_catalog_version()
        if _guard().bump_owed:
            return -1, {}
    version = _request_version()
    built: dict[str, tuple] = {}
    if version is not None:
        memory = _local()
        for name, key, here in zip(names, keys, local, strict=True):
            kept = memory.get(key) if here else None
            if kept is not None and kept[0] == version:
                built[name] = (version, None, kept[1])
    ask = [(name, key) for name, key in zip(names, keys, strict=True) if name not in built]
    memo = _deps_memo()
    guess = sorted({pid for _, key in ask for pid in memo.get(key, ())})
    live: dict[int, Any] = {}
    if ask or version is None:
        got = _get_many_with_prefetch(
            [_VERSION_KEY, *[key for _, key in ask], *[_stamp_key(i) for i in guess]]
        )
        if got is _DOWN:
            return -1, {}
        version = _version(got[0])
        _remember_version(version)
        for (name, _), entry in zip(ask, got[1 : 1 + len(ask)], strict=True):
            if version >= 0 and isinstance(entry, tuple) and len(entry) == 3 and entry[0] == version:
                built[name] = entry
        live = dict(zip(guess, got[1 + len(ask) :], strict=True))
    return _checked_stamps(version, built, live)


def _get_many_with_prefetch(keys: list[str]) -> Any:
    """``MGET`` of ``keys`` and of the keys :func:`prefetch` asked for (kept for
    :func:`prefetched`); returns the values of ``keys`` only, or :data:`_DOWN`."""
    extra = take_prefetch()
    got = _call(cache.get_many, *keys, *extra)
    if extra and got is not _DOWN:
        keep_prefetched(dict(zip(extra, got[len(keys) :], strict=True)))
        got = got[: len(keys)]
    return got


def _checked_stamps(
    version: int, built: dict[str, tuple], live: dict[int, Any]
) -> tuple[int, dict[str, tuple]]:
    """``built`` without the entries whose products' stock stamps changed since; ``live``
    holds the stamps already read (the others are read now, in one round trip)."""
    wanted = sorted({pid for entry in built.values() if entry[1] is not None for pid in entry[1]} - set(live))
    if wanted:
        more = _call(cache.get_many, *[_stamp_key(i) for i in wanted])
        if more is _DOWN:
            return -1, {}
        live.update(zip(wanted, more, strict=True))
    return version, {
        name: entry
        for name, entry in built.items()
        if entry[1] is None
        or all(stamp is not None and live.get(pid) == stamp for pid, stamp in entry[1].items())
    }


_COLLECT_ATTR = "_shop_catalog_stamps"


def _collect(stamps: dict[str, dict | None], uncacheable: bool) -> None:
    """Add the stamps of entries read during a :func:`cached_response` miss to its answer's."""
    if not has_request_context():
        return
    collected = getattr(request, _COLLECT_ATTR, False)
    if collected is False:
        return  # not collecting
    merged = _merged_stamps(stamps, uncacheable)
    if collected is None or merged is None:
        setattr(request, _COLLECT_ATTR, None)  # something could not be cached
    else:
        collected.update(merged)


def _one_entry(parts: tuple) -> tuple[int, tuple | None]:
    """The catalog version (-1: cache down) and the entry under ``parts`` if still current
    (``(version, stamps, value)``), else None. A hit's products are remembered, so the next
    read asks for their stamps with the entry (one round trip, not two), also in a process
    that did not build it."""
    key = _entry_key(parts)
    version, current = _read_current(["entry"], [key], [False])
    entry = current.get("entry")
    if entry is not None and entry[1]:
        _deps_memo()[key] = tuple(entry[1])
    return version, entry


def cached_response(parts: tuple) -> Any:
    """A whole answer stored by :func:`keep_response` that is still current, or None.

    On None, the stamps of every catalog entry read for the rest of this request are
    collected, so that :func:`keep_response` can store the answer built from them, valid
    exactly as long as all of them are.
    """
    version, entry = _one_entry(parts)
    if entry is not None:
        return entry[2]
    setattr(request, _COLLECT_ATTR, {} if version >= 0 else None)
    return None


def current_entry(parts: tuple) -> Any:
    """The value :func:`cached_entries` stored under ``parts`` if it is still current (built
    for the catalog version, and showing stock only under unchanged stamps), else None; it
    never produces one. One cache round trip when this process has read the entry before
    (its products' stamps are asked for with it); None when the cache is down. Needs an
    app context, not a request (``shop.front_cache`` asks before Flask dispatches)."""
    entry = _one_entry(parts)[1]
    return None if entry is None else entry[2]


def collecting_response() -> bool:
    """Whether this request missed a :func:`cached_response` and can store its answer with
    :func:`keep_response` (False after a hit, without a lookup, or with the cache down)."""
    return has_request_context() and getattr(request, _COLLECT_ATTR, None) is not None


def keep_response(parts: tuple, value: Any, timeout: int | None = None) -> None:
    """Store a whole answer (plain data) after a :func:`cached_response` miss in this request,
    under the catalog version and the stamps of every entry it was built from."""
    stamps = getattr(request, _COLLECT_ATTR, None)
    version = _request_version()
    if stamps is None or version is None:
        return
    _call(cache.set, _entry_key(parts), (version, stamps, value), timeout=timeout)
    if stamps:
        _deps_memo()[_entry_key(parts)] = tuple(stamps)


def cached_catalog(parts: tuple, produce: Callable[[], Any], timeout: int | None = None) -> Any:
    """Return the cached value for ``parts`` or compute it with ``produce()`` and store it.

    Only store plain data or rendered strings, never ORM objects. ``produce`` may return a
    :class:`Stamped` value (see :func:`cached_entries`).
    """
    return cached_entries({"value": (parts, lambda values, stamps: produce())}, timeout)["value"]
