"""Per-visitor cache entries read in the same round trip as a request's catalog entries
(``shop.cache.cached_entries``): a page asks for them ahead with :func:`prefetch`, the
catalog read adds them to its ``MGET``, and :func:`prefetched` hands out the values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import has_request_context, request

_PREFETCH_ATTR = "_shop_cache_prefetch"
_PREFETCHED_ATTR = "_shop_cache_prefetched"


def prefetch(keys: Iterable[str]) -> None:
    """Ask for these (non-catalog) keys in the same round trip as this request's next
    catalog read; :func:`prefetched` then has their values."""
    if has_request_context():
        setattr(request, _PREFETCH_ATTR, [*getattr(request, _PREFETCH_ATTR, []), *keys])


def take_prefetch() -> list[str]:
    """The keys asked for and not read yet (taken: the caller reads them now)."""
    if not has_request_context():
        return []
    keys = getattr(request, _PREFETCH_ATTR, [])
    if keys:
        setattr(request, _PREFETCH_ATTR, [])
    return keys


def keep_prefetched(values: dict[str, Any]) -> None:
    """Keep ``{key: value}`` read for :func:`take_prefetch`'s keys for this request."""
    setattr(request, _PREFETCHED_ATTR, {**getattr(request, _PREFETCHED_ATTR, {}), **values})


def prefetched(keys: list[str]) -> list[Any] | None:
    """The values of keys read by :func:`prefetch` in this request (None for a missing
    key), or None when they were not all read (then ask the cache)."""
    got = getattr(request, _PREFETCHED_ATTR, None) if has_request_context() else None
    if not got or any(key not in got for key in keys):
        return None
    return [got[key] for key in keys]
