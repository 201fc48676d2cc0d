"""search index structures (FTS5 on SQLite; tsvector, GIN and pg_trgm on PostgreSQL)

Revision ID: 0002_search_index
Revises: 0001_initial
Create Date: 2026-11-21

The structures depend on the dialect, so the search package owns their DDL
(``shop.search.index``); this revision calls it so ``flask db upgrade`` builds
everything from empty.
"""

import sqlalchemy as sa
from alembic import op

PATTERN = "search\\_%"  # LIKE pattern for the search_* names, backslash as escape

revision = "0002_search_index"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    from shop.search import index

    index.install(op.get_bind())


def downgrade():
    # Every search structure is named search_*: drop triggers, functions and tables by prefix.
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        functions = conn.execute(sa.text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND p.proname LIKE :pattern"
        ), {"pattern": PATTERN}).scalars().all()
        for signature in functions:
            op.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
        tables = conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
            "AND tablename LIKE :pattern"
        ), {"pattern": PATTERN}).scalars().all()
        for table in tables:
            op.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    else:
        rows = conn.execute(sa.text(
            "SELECT type, name FROM sqlite_master WHERE name LIKE :pattern ESCAPE '\\' "
            "AND type IN ('trigger', 'table') AND sql IS NOT NULL"
        ), {"pattern": PATTERN}).all()
        for type_, name in sorted(rows, key=lambda r: r[0] != "trigger"):
            if type_ == "trigger":
                op.execute(f'DROP TRIGGER IF EXISTS "{name}"')
        for type_, name in rows:
            # Virtual tables first; their shadow tables go with them.
            if type_ == "table" and conn.execute(
                sa.text("SELECT 1 FROM sqlite_master WHERE name = :name"), {"name": name}
            ).first():
                op.execute(f'DROP TABLE IF EXISTS "{name}"')
