"""What a process keeps of the products its searches read, per index state: their
re-ranking fields (:class:`shop.search.scoring.Doc`, :func:`shop.search.ranking.load_docs`)
and the columns a result card shows (:func:`shop.search.cards.load_products`).

Both are read together for the re-rank window, so the first page of a query, whose
products the window holds, is shown without another statement; and a product met again
under the same state is not read at all.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from shop.cache import request_catalog_version

#: Products kept at most (their Docs are about 2 kB each on the real catalog, mostly the
#: attributes: some 16 MB when full, some fifty windows).
KEPT_SIZE = 8192


@dataclass
class Kept:
    """Products read under one index state and catalog version: ``docs`` maps a product id
    to its :class:`shop.search.scoring.Doc`, ``cards`` to its card row
    (:data:`shop.search.cards.CARD_COLUMNS`, in that order). Dictionaries to read from and
    add to (a single dict operation is atomic under the GIL; readers never change a value)."""

    docs: dict = field(default_factory=dict)
    cards: dict = field(default_factory=dict)


#: Per process: ``[(state, catalog version), Kept]``.
_KEPT: list = [None, Kept()]
_LOCK = threading.Lock()


def kept(state: int | None) -> Kept:
    """The products this process read under the index's change counter ``state`` and the
    catalog version this request read: empty when either changed, and a throwaway one
    without a state (inside a transaction that has written) or with the cache down.

    The counter moves with every change to what is kept (a product's fields, attributes,
    price or stock, its category's names: :func:`shop.search.index.state`), by any code
    path. PostgreSQL's counter is a sequence, advanced before the writing transaction
    commits, so a search in between may read the old row under the new number; the
    catalog version, bumped after the shop's own commits, is in the key for that reason,
    as it is in the result cache's. At most ``KEPT_SIZE`` products of each kind are kept.
    """
    if state is None:
        return Kept()
    version = request_catalog_version()
    if version < 0:
        return Kept()
    with _LOCK:
        now = _KEPT[1]
        if _KEPT[0] != (state, version) or len(now.docs) >= KEPT_SIZE or len(now.cards) >= KEPT_SIZE:
            _KEPT[:] = [(state, version), Kept()]
        return _KEPT[1]


def forget() -> None:
    """Drop everything kept (a benchmark's cold start)."""
    with _LOCK:
        _KEPT[:] = [None, Kept()]
