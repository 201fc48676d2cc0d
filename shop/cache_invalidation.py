"""When catalog cache entries stop being valid: session hooks that, after a commit, give the
products whose stock changed new stock stamps, or bump the catalog version for any other
change to products or categories (:mod:`shop.cache`). A rolled-back change invalidates
nothing."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import event
from sqlalchemy.orm import Session

from shop.cache import bump_catalog_version, restamp
from shop.catalog.models import Category, Product

_FLAG = "catalog_changed"
_STOCK_FLAG = "catalog_stock_changed"


def mark_stock_changed(session: Session, product_ids: Iterable[int]) -> None:
    """Flag the session so these products get new stock stamps after its next commit.

    Only stock changes (sales, cancellations, refunds back to stock, staff stock edits)
    go this way: they invalidate the entries that show these products (their pages, the
    listing pages they appear on) and nothing else, so a sale does not empty the cache.
    """
    session.info.setdefault(_STOCK_FLAG, set()).update(product_ids)


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
    stock_changed = session.info.pop(_STOCK_FLAG, None)
    if session.info.pop(_FLAG, False):
        bump_catalog_version()
    elif stock_changed:
        restamp(stock_changed)


def _after_rollback(session: Session) -> None:
    session.info.pop(_FLAG, None)
    session.info.pop(_STOCK_FLAG, None)


def register_cache_invalidation() -> None:
    """Install the session hooks once per process."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", lambda s, prev: _after_rollback(s))
