"""search index structures (FTS5 on SQLite; tsvector, GIN and pg_trgm on PostgreSQL)

Revision ID: 0002_search_index
Revises: 0001_initial
Create Date: 2026-11-21

The structures depend on the dialect, so the search package owns their DDL
(``shop.search.schema``); this revision calls it so ``flask db upgrade`` builds
everything from empty.
"""

from alembic import op

revision = "0002_search_index"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    from shop.search import schema

    schema.install(op.get_bind())


def downgrade():
    from shop.search import schema

    uninstall = getattr(schema, "uninstall", None)
    if uninstall is not None:
        uninstall(op.get_bind())
