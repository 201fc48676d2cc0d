"""address book: customers' saved addresses

Revision ID: 0008_address_book
Revises: 0007_outbox
Create Date: 2026-12-03

Customers typed their address again at every checkout. ``addresses`` keeps the ones they
save, each owned by a user (deleted with the account). A user has at most one default
address: the services keep it so, and the partial unique index on ``user_id`` where
``is_default`` refuses a second default even from two requests racing each other (SQLite
and PostgreSQL both have partial indexes).
"""

import sqlalchemy as sa
from alembic import op

import shop.dbtypes

revision = "0008_address_book"
down_revision = "0007_outbox"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("line1", sa.String(length=200), nullable=False),
        sa.Column("line2", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_addresses_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
    )
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_addresses_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            "uq_addresses_user_id_default",
            ["user_id"],
            unique=True,
            sqlite_where=sa.text("is_default = 1"),
            postgresql_where=sa.text("is_default"),
        )


def downgrade():
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.drop_index("uq_addresses_user_id_default")
        batch_op.drop_index(batch_op.f("ix_addresses_user_id"))
    op.drop_table("addresses")
