"""payments: payment attempts, provider events and refunds; orders gain refund statuses

Revision ID: 0010_payments
Revises: 0009_pricing
Create Date: 2026-12-04

Card payments go through a provider (Stripe) and become records: each attempt a
``payments`` row, each provider event received a ``payment_events`` row (its id unique, so
a replayed event changes nothing), each refund a ``refunds`` row. Orders can now be
partially refunded or refunded, and carry ``attention``: why staff must look at them (a
payment that arrived after the unpaid order was cancelled).
"""

from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

import shop.dbtypes

# revision identifiers, used by Alembic.
revision = "0010_payments"
down_revision = "0009_pricing"
branch_labels = None
depends_on = None


STATUSES = (
    "pending_payment",
    "paid",
    "shipped",
    "delivered",
    "cancelled",
    "partially_refunded",
    "refunded",
)

#: Stock ledger reasons: goods returned to stock by a refund are ``refund``.
REASONS = ("import", "staff_edit", "order", "cancellation", "refund")


def _quoted(names) -> str:
    return ", ".join(f"'{n}'" for n in names)


@contextmanager
def _rebuilding_safely():
    """As in 0009: on SQLite, batch mode rebuilds ``orders``; foreign-key enforcement is
    off around the rebuild (outside a transaction), so dropping the old table does not
    cascade to the order lines, and the references are checked afterwards."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if sqlite:
            with op.get_context().autocommit_block():
                op.execute("PRAGMA foreign_keys=ON")
    if sqlite and op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
        raise RuntimeError("rebuilding orders left rows whose references do not resolve")


def upgrade():
    op.create_table(
        "payment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=255), nullable=False),
        sa.Column("received_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payment_events_order_id_orders"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
        sa.UniqueConstraint("provider", "event_id", name="uq_payment_events_provider_event"),
    )
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_events_order_id"), ["order_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("provider_payment", sa.String(length=255), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'expired', 'failed', 'mismatch')",
            name=op.f("ck_payments_status_valid"),
        ),
        sa.CheckConstraint("amount_cents >= 0", name=op.f("ck_payments_amount_non_negative")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_payments_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payments_reference"), ["reference"], unique=False)

    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lines", shop.dbtypes.JSONType(), nullable=False),
        sa.Column("restock", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider_reference", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed')", name=op.f("ck_refunds_status_valid")
        ),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_refunds_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_refunds_provider_reference"), ["provider_reference"], unique=False
        )

    with _rebuilding_safely(), op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attention", sa.Text(), nullable=False, server_default=""))
        batch_op.drop_constraint(batch_op.f("ck_orders_status_valid"), type_="check")
        batch_op.create_check_constraint("status_valid", f"status IN ({_quoted(STATUSES)})")
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_stock_movements_reason_valid"), type_="check")
        batch_op.create_check_constraint("reason_valid", f"reason IN ({_quoted(REASONS)})")


def downgrade():
    op.execute("UPDATE stock_movements SET reason = 'cancellation' WHERE reason = 'refund'")
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_stock_movements_reason_valid"), type_="check")
        batch_op.create_check_constraint("reason_valid", f"reason IN ({_quoted(REASONS[:4])})")
    # Refunded orders go back to paid: the statuses before this revision cannot say more.
    op.execute("UPDATE orders SET status = 'paid' WHERE status IN ('partially_refunded', 'refunded')")
    with _rebuilding_safely(), op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_orders_status_valid"), type_="check")
        batch_op.create_check_constraint("status_valid", f"status IN ({_quoted(STATUSES[:5])})")
        batch_op.drop_column("attention")

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_provider_reference"))
        batch_op.drop_index(batch_op.f("ix_refunds_order_id"))

    op.drop_table("refunds")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_reference"))
        batch_op.drop_index(batch_op.f("ix_payments_order_id"))

    op.drop_table("payments")
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_events_order_id"))

    op.drop_table("payment_events")
