"""The unit of work of a view, a command or an API call: services flush, the caller
commits here, and anything that goes wrong rolls the whole transaction back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from shop.errors import database_unavailable
from shop.extensions import db


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit what the block did, or roll it all back if it raises (then re-raise).

    Views catch the domain error (:class:`shop.exceptions.ShopError`) outside the block to
    flash it or put it on a form; the API lets it reach ``shop.errors``, which renders
    problem+json. Either way the session is clean again for the rest of the request.
    """
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def close_session(_exc: BaseException | None = None) -> None:
    """Teardown of every app context: close the session and give its connection back.

    If the database went away while the request held a transaction, the rollback that
    closing makes fails; the connection is then dropped (the pool opens a new one later)
    instead of that error replacing the answer already made with the server's bare 500.

    Raises:
        Exception: any other error from closing the session.
    """
    try:
        db.session.remove()
    except Exception as error:
        if not database_unavailable(error):
            raise
        try:
            db.session().invalidate()  # the Session itself: scoped_session does not proxy this
        finally:
            db.session.registry.clear()


def is_unique_clash(exc: Exception, constraint: str, table_columns: str) -> bool:
    """True if an IntegrityError is the named unique constraint failing.

    Args:
        constraint: the constraint name PostgreSQL reports (e.g. ``uq_orders_number``).
        table_columns: how SQLite names it (e.g. ``orders.number``).
    """
    text = str(getattr(exc, "orig", exc))
    return constraint in text or f"UNIQUE constraint failed: {table_columns}" in text


def insert_unless_taken(row, constraint: str, table_columns: str) -> bool:
    """Insert ``row`` (flushed inside a savepoint); False if the named unique constraint
    refused it because a concurrent transaction took the value first.

    Only the insert is undone (to the savepoint): what the transaction did before stays.
    On SQLite the transaction must already have written something, or the savepoint would
    open (and its release commit) a transaction of its own.

    Args:
        constraint / table_columns: as :func:`is_unique_clash`.
    Raises:
        sqlalchemy.exc.IntegrityError: any other constraint failed.
    """
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError as exc:
        if not is_unique_clash(exc, constraint, table_columns):
            raise
        return False
    return True
