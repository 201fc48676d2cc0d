"""dashboard indexes: covering indexes for the sales figures, a partial index of orders
needing attention

Revision ID: 0015_dashboard_indexes
Revises: 0014_audit_log
Create Date: 2026-11-30

The staff dashboard sums a period's paid orders per day and their lines per product
(``shop.admin.sales``). With these covering indexes both are index-only scans: the orders
of the period by ``created_at`` with their status, id and total; each order's lines by
``order_id`` with product, quantity, price and discount. At 100,000 orders the summing
query over a period's lines got about four times faster on SQLite (``bench/dashboard.py``).
Orders waiting for staff are found by status and age, and those needing attention (few)
by a partial index. Plain ``CREATE INDEX``: no
table is rebuilt.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_dashboard_indexes"
down_revision = "0014_audit_log"
branch_labels = None
depends_on = None

#: ``(name, table, columns)``; the dashboard benchmark creates the same.
INDEXES = [
    ("ix_orders_created_status_total", "orders", ["created_at", "status", "id", "total_cents"]),
    (
        "ix_order_lines_order_sales",
        "order_lines",
        ["order_id", "product_id", "quantity", "unit_price_cents", "discount_cents"],
    ),
    # Orders waiting (paid, or unpaid for long), oldest first, without sorting all of them.
    ("ix_orders_status_created", "orders", ["status", "created_at"]),
]
#: Orders with an attention note (``attention <> ''``), oldest first.
ATTENTION_INDEX = ("ix_orders_attention", "orders", ["created_at"])
ATTENTION_WHERE = "attention <> ''"


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    name, table, columns = ATTENTION_INDEX
    op.create_index(
        name,
        table,
        columns,
        sqlite_where=sa.text(ATTENTION_WHERE),
        postgresql_where=sa.text(ATTENTION_WHERE),
    )


def downgrade():
    op.drop_index(ATTENTION_INDEX[0], table_name=ATTENTION_INDEX[1])
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
