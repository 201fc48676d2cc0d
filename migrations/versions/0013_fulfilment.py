"""fulfilment: orders carry their carrier, tracking number and when they were shipped

Revision ID: 0013_fulfilment
Revises: 0010_payments
Create Date: 2026-11-30

Plain columns with defaults, added with ``ALTER TABLE ... ADD COLUMN`` on every database. No
batch rebuild of ``orders``: on SQLite a rebuild drops the old table, and with foreign keys
on that would delete every order line with it (see 0009 and 0010).
"""

import sqlalchemy as sa
from alembic import op

import shop.dbtypes

# revision identifiers, used by Alembic.
revision = "0013_fulfilment"
down_revision = "0010_payments"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("orders", sa.Column("carrier", sa.String(length=50), nullable=False, server_default=""))
    op.add_column(
        "orders", sa.Column("tracking_number", sa.String(length=100), nullable=False, server_default="")
    )
    op.add_column("orders", sa.Column("shipped_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    # SQLite (3.35+) drops a plain column in place, so no rebuild here either.
    op.drop_column("orders", "shipped_at")
    op.drop_column("orders", "tracking_number")
    op.drop_column("orders", "carrier")
