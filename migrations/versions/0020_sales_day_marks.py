"""sales day marks: a generation per local day, raised with every change to its sales figures

Revision ID: 0020_sales_day_marks
Revises: 0016_product_imports
Create Date: 2026-11-30

The dashboard caches the sales figures of finished days; ``sales_day_marks`` tells which of
them changed since (see ``shop.orders.sales_marks``). A new table: nothing to rebuild.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0020_sales_day_marks"
down_revision = "0016_product_imports"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sales_day_marks",
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tz", "day", name=op.f("pk_sales_day_marks")),
    )


def downgrade():
    op.drop_table("sales_day_marks")
