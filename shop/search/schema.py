"""Database structures of the search index that the ORM does not model.

``install`` creates them (called by the migration and by the test setup);
``clear`` empties them between tests.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection


def install(conn: Connection) -> None:
    """Create the search index structures for the connection's dialect (idempotent)."""


def clear(conn: Connection) -> None:
    """Empty the search index structures (tests)."""
