"""search facts: a covering index for the facet tally on SQLite

Revision ID: 0024_search_facts
Revises: 0023_page_speed
Create Date: 2026-11-30

A search counts its matches by category, brand, price band and stock, and filters them
by these. SQLite stores a row's columns in order; ``price_cents``, ``stock`` and
``status`` come after the description and attributes, so each match read them by
following the row's overflow pages. This index holds them beside the id, so a match costs
one index lookup. PostgreSQL is left as it is: its search index carries these columns.
Plain ``CREATE INDEX``: ``products`` is not rebuilt (on SQLite that would drop its search
triggers).
"""

from alembic import op

revision = "0024_search_facts"
down_revision = "0023_page_speed"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_products_search_facts "
            "ON products (id, status, category_id, brand, price_cents, stock)"
        )
        # SQLite's planner takes the index only with its statistics (a catalog import and
        # `flask shop reindex` analyze everything; a database upgraded in place has none for it).
        op.execute("ANALYZE ix_products_search_facts")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP INDEX IF EXISTS ix_products_search_facts")
