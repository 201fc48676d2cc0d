"""Counting the SQL statements a piece of code runs (tests that a cache spares them)."""

from __future__ import annotations

from sqlalchemy import event


class QueryCounter:
    """Collects the SQL text of every statement run on ``engine`` while active, in
    ``statements``: ``with QueryCounter(db.engine) as counter: ...``."""

    def __init__(self, engine):
        self.engine, self.statements = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args):
        self.statements.append(statement)
