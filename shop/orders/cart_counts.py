"""Customers' cart counts (units in the cart, for the navigation bar) kept in the cache, so
that a signed-in page does not ask the database for them.

As the catalog's stock stamps (``shop.cache``): each customer has a *cart stamp*, a random
value replaced after every commit that changed their cart or its lines (add, change,
remove, review, merge on login, checkout); a count is stored with the stamp read *before*
the count was read from the database, and used only while that stamp is unchanged. So a
count is right on the first request after the change, whichever worker serves it, and a
count read before a concurrent change is never taken as current after it. Stamps are
random, never counters, so one replaced never comes back.

Changes are seen by the session's flush (a :class:`Cart` or :class:`CartItem` added,
changed or deleted); the cart services touch the cart (``updated_at``) whenever a line
changes, bulk deletes included. A restamp lost to a cache outage leaves a count stale for
:data:`COUNT_SECONDS` at most. Guests' counts are not kept (one query, as before).
"""

from __future__ import annotations

import random

from sqlalchemy import event
from sqlalchemy.orm import Session

from shop.cache import CACHE_DOWN, call_cache
from shop.cache_prefetch import prefetch, prefetched
from shop.extensions import cache
from shop.orders.cart import owner_cart_quantity
from shop.orders.models import Cart, CartItem

#: Seconds a count is kept (and the longest it can be wrong after a lost restamp).
COUNT_SECONDS = 300
_STAMP_KEY = "cart:stamp:%d"
_COUNT_KEY = "cart:count:%d"
_FLAG = "cart_counts_changed"


def _new_stamp() -> int:
    return random.getrandbits(62) + 1


def customer_cart_quantity(user_id: int) -> int:
    """Total units in the account's cart (0 without one): from the cache while the cart's
    stamp is unchanged, else one aggregate query (then stored)."""
    keys = [_STAMP_KEY % user_id, _COUNT_KEY % user_id]
    got = prefetched(keys) or call_cache(cache.get_many, *keys)
    if got is CACHE_DOWN:
        return owner_cart_quantity(user_id=user_id)
    stamp, entry = got
    if stamp is not None and isinstance(entry, tuple) and len(entry) == 2 and entry[0] == stamp:
        return entry[1]
    if stamp is None:
        # SET NX: two readers creating the stamp agree on one value (the first one's).
        fresh = _new_stamp()
        added = call_cache(cache.add, _STAMP_KEY % user_id, fresh, timeout=0)
        stamp = fresh if added is True else call_cache(cache.get, _STAMP_KEY % user_id)
    count = owner_cart_quantity(user_id=user_id)
    if stamp is not None and stamp is not CACHE_DOWN:
        call_cache(cache.set, _COUNT_KEY % user_id, (stamp, count), timeout=COUNT_SECONDS)
    return count


def prefetch_count(user_id: int) -> None:
    """Read the account's cart count with the page's catalog entries (one round trip)."""
    prefetch([_STAMP_KEY % user_id, _COUNT_KEY % user_id])


def _before_flush(session: Session, flush_context, instances) -> None:
    """Note the accounts whose carts this flush changes (restamped after commit)."""
    owners: set[int] = set()
    with session.no_autoflush:
        for obj in (*session.new, *session.dirty, *session.deleted):
            if isinstance(obj, Cart):
                owners.add(obj.user_id)
            elif isinstance(obj, CartItem):
                cart = obj.cart if obj.cart is not None else session.get(Cart, obj.cart_id)
                owners.add(cart.user_id if cart is not None else None)
    owners.discard(None)
    if owners:
        session.info.setdefault(_FLAG, set()).update(owners)


def _after_commit(session: Session) -> None:
    owners = session.info.pop(_FLAG, None)
    if owners:
        call_cache(cache.set_many, {_STAMP_KEY % uid: _new_stamp() for uid in sorted(owners)}, timeout=0)


def register_cart_counts() -> None:
    """Install the session hooks once per process."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        # No rollback hook: a restamp for nothing costs one query on the next page.
        event.listen(Session, "after_commit", _after_commit)
