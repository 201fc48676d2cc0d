"""search: the PostgreSQL index keeps category, brand, price and stock for facet counts

Revision ID: 0004_search_facet_columns
Revises: 0003_search_punctuation
Create Date: 2026-11-21

Counting a query's matches by category, brand, price band and stock joined every match
to ``products``; on a large catalog the planner read the whole products table for it.
``search_documents`` now holds copies of those four columns (a trigger follows price and
stock changes); this revision adds them and re-indexes the active products. SQLite is
unchanged (its join by rowid is cheap).
"""

from alembic import op

revision = "0004_search_facet_columns"
down_revision = "0003_search_punctuation"
branch_labels = None
depends_on = None


def upgrade():
    from shop.search import index

    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        index.reindex(conn)


def downgrade():
    # The copied columns and their trigger stay: the older code never reads them, and
    # the index function that fills them is the one installed now (0002's downgrade
    # drops every search structure anyway).
    pass
