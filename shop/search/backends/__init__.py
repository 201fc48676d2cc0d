"""Search backends: one interface, one implementation per database dialect.

A backend answers two kinds of questions:

- vocabulary (:class:`shop.search.query.Vocabulary`): document frequencies, stemmed hits
  and near words, used to analyse a query;
- matching: ``match(plan, require_all)`` returns a selectable with columns
  ``product_id`` and ``score`` (higher is better) over the active products that match
  the plan. Everything else (filters, facets, sorting, paging, re-ranking) is built on it
  by the steps :mod:`shop.search.services` calls, the same for every dialect.

``get_backend(session)`` picks the backend from the session's database dialect.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shop.search.backends.base import SearchBackend
from shop.search.backends.postgres import PostgresBackend
from shop.search.backends.sqlite import SqliteBackend


def get_backend(session: Session) -> SearchBackend:
    """The backend for the session's database: PostgreSQL, or SQLite FTS5 otherwise."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return PostgresBackend(session)
    return SqliteBackend(session)


__all__ = ["SearchBackend", "get_backend"]
