"""search: PostgreSQL lays the index's documents out by category

Revision ID: 0026_search_layout
Revises: 0025_search_attributes
Create Date: 2026-12-01

Counting and ranking a query's matches reads each matching document; laid out by
category, the documents a query names share pages (``shop.search.index.lay_out``). A
btree index on ``search_documents.category_id`` gives the order, the table keeps a tenth
of each page free for changes of stock and price, and the documents are laid out once
here; every later import and ``flask shop reindex`` does it again. Nothing on SQLite.
"""

from alembic import op

revision = "0026_search_layout"
down_revision = "0025_search_attributes"
branch_labels = None
depends_on = None


def upgrade():
    from shop.search import index

    conn = op.get_bind()
    index.install(conn)
    if conn.dialect.name == "postgresql":
        index.lay_out(conn)


def downgrade():
    from shop.search.index_ddl import PG_LAYOUT_INDEX

    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_documents RESET (fillfactor)")
        op.execute(f"DROP INDEX IF EXISTS {PG_LAYOUT_INDEX}")
