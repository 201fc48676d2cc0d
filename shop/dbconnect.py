"""PostgreSQL connections that stop waiting for a server that does not answer.

``statement_timeout`` (``DATABASE_STATEMENT_TIMEOUT``) makes a live server end a slow
statement, and ``connect_timeout`` bounds opening a connection; neither helps when the
server (or the network to it) stops answering on a connection already open: libpq then
waits for ever, and the request with it, until gunicorn kills the worker. A
:class:`DeadlineConnection` gives up after ``DATABASE_READ_TIMEOUT`` seconds (set above the
statement timeout, so that a live server's own cancel comes first), closes itself (so the
pool replaces it) and raises ``OperationalError``, which the error handler answers with a
503.
"""

from __future__ import annotations

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import event
from sqlalchemy.engine import Engine


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose every wait for the server (query, commit, rollback) ends
    after :attr:`deadline` seconds (``None``: no limit)."""

    deadline: float | None = None

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
            raise psycopg.OperationalError(
                f"the database did not answer within {self.deadline:g} s; connection closed"
            ) from None


def install_deadline(engine: Engine, deadline: float | None) -> None:
    """Make ``engine`` open :class:`DeadlineConnection`\\ s with ``deadline`` seconds (a
    PostgreSQL engine on psycopg; others are left alone)."""
    if deadline is None or engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, conn_rec, cargs, cparams):
        connection = DeadlineConnection.connect(*cargs, **cparams)
        connection.deadline = deadline
        return connection
