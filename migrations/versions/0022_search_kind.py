"""search: a change counter for the result cache, and pack sizes out of the index

Revision ID: 0022_search_kind
Revises: 0021_import_uploads
Create Date: 2026-11-30

Search results are cached under the index's own change counter (``search_state`` on
SQLite, updated by the index triggers, which now also fire on price and stock changes;
the sequence ``search_state_seq`` on PostgreSQL, advanced by a statement trigger on
``search_documents``). This revision installs them (``shop.search.index.install`` is
idempotent) and re-indexes the active products.
"""

from alembic import op

revision = "0022_search_kind"
down_revision = "0021_import_uploads"
branch_labels = None
depends_on = None


def upgrade():
    from shop.search import index

    index.reindex(op.get_bind())


def downgrade():
    from shop.search import index

    index.uncount(op.get_bind())
