"""PostgreSQL connections that stop waiting for a server that does not answer.

``statement_timeout`` (``DATABASE_STATEMENT_TIMEOUT``) makes a live server end a slow
statement, and ``connect_timeout`` bounds opening a connection; neither helps when the
server (or the network to it) stops answering on a connection already open: libpq then
waits for ever, and the request with it, until gunicorn kills the worker. A
:class:`DeadlineConnection` gives up after ``DATABASE_READ_TIMEOUT`` seconds (set above the
statement timeout, so that a live server's own cancel comes first), closes itself (so the
pool replaces it) and raises ``OperationalError``, which the error handler answers with a
503.

After such a timeout (or a connect timeout) the engine does not try to connect again for
``DATABASE_RETRY_INTERVAL`` seconds: requests that need the database get their 503 at once
instead of each waiting out a timeout, while pages that need no database are still served.
A refused connection costs nothing to find out, so it does not stop the next attempt.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


class ConnectGuard:
    """One engine's memory of a database that timed out: no new connection is attempted
    before ``time.monotonic()`` reaches :attr:`closed_until`."""

    def __init__(self, retry_interval: float):
        self.retry_interval = retry_interval
        self.closed_until = 0.0

    def timed_out(self, what: str) -> None:
        """Record a timeout (``what`` is logged); hold off connecting for the interval."""
        if time.monotonic() >= self.closed_until:
            log.warning("Database %s; no new connection for %gs", what, self.retry_interval)
        self.closed_until = time.monotonic() + self.retry_interval

    def check(self) -> None:
        """Raise instead of connecting while the hold-off lasts.

        Raises:
            psycopg.OperationalError: the database timed out less than the interval ago.
        """
        if time.monotonic() < self.closed_until:
            raise psycopg.OperationalError("the database timed out moments ago; not connecting yet")


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose every wait for the server (query, commit, rollback) ends
    after :attr:`deadline` seconds (``None``: no limit)."""

    deadline: float | None = None
    guard: ConnectGuard | None = None

    def wait(self, gen, interval: float = 0.1, timeout: float | None = None):
        """psycopg's wait for ``gen``, bounded by :attr:`deadline` unless the caller bounds it.

        Raises:
            psycopg.OperationalError: no answer within the deadline (the connection is closed).
        """
        if timeout is not None or self.deadline is None:
            return super().wait(gen, interval=interval, timeout=timeout)
        try:
            return super().wait(gen, interval=interval, timeout=self.deadline)
        except pg_errors._WaitTimeout:  # psycopg's own signal that the timeout expired
            # The statement's fate on the server is unknown: this connection is done.
            self.close()
            if self.guard is not None:
                self.guard.timed_out(f"did not answer within {self.deadline:g}s")
            raise psycopg.OperationalError(
                f"the database did not answer within {self.deadline:g} s; connection closed"
            ) from None


@contextmanager
def unbounded(driver_connection):
    """Within the block, ``driver_connection`` (a DBAPI connection) waits for the server as
    long as it takes: for maintenance that is slow by nature and bounded otherwise
    (rewriting the search index, :func:`shop.search.index.lay_out`), never for a request.
    A connection without a deadline is left alone."""
    if not isinstance(driver_connection, DeadlineConnection):
        yield
        return
    saved, driver_connection.deadline = driver_connection.deadline, None
    try:
        yield
    finally:
        driver_connection.deadline = saved


def install_deadline(engine: Engine, deadline: float | None, retry_interval: float = 0) -> None:
    """Make ``engine`` (PostgreSQL on psycopg; others are left alone) open
    :class:`DeadlineConnection`\\ s with ``deadline`` seconds, and hold off connecting for
    ``retry_interval`` seconds after a timeout (0: never hold off)."""
    if deadline is None or engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return
    guard = ConnectGuard(retry_interval) if retry_interval > 0 else None

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, conn_rec, cargs, cparams):
        if guard is not None:
            guard.check()
        try:
            connection = DeadlineConnection.connect(*cargs, **cparams)
        except pg_errors.ConnectionTimeout:
            if guard is not None:
                guard.timed_out("connection timed out")
            raise
        connection.deadline = deadline
        connection.guard = guard
        return connection
