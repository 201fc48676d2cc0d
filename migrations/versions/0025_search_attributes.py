"""search: a change to a product's attributes advances the index's change counter

Revision ID: 0025_search_attributes
Revises: 0024_search_facts
Create Date: 2026-11-30

The re-rank reads a product's attributes, and each process keeps the products it read
for as long as the index's change counter (``shop.search.index.state``) stands. The
counter now also moves when attributes change, by whatever code path: SQLite's
``search_products_facts`` trigger fires on them too, and on PostgreSQL a statement
trigger ``search_products_attributes`` advances ``search_state_seq``. Nothing is
re-indexed (``shop.search.index.install`` only replaces the triggers).
"""

from alembic import op

revision = "0025_search_attributes"
down_revision = "0024_search_facts"
branch_labels = None
depends_on = None


def upgrade():
    from shop.search import index

    index.install(op.get_bind())


def downgrade():
    from shop.search import index

    index.uncount_attributes(op.get_bind())
