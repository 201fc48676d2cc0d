"""carts: a guest's cart is a row too (nullable owner, a session token)

Revision ID: 0005_guest_carts
Revises: 0004_search_facet_columns
Create Date: 2026-11-30

A guest's cart used to live in the session and a customer's in ``carts``; every layer
forked on who was shopping. Now both are ``carts`` rows: ``user_id`` becomes nullable, a
guest's cart carries an unguessable ``token`` (kept in the signed session), exactly one of
the two is set, and ``updated_at`` is indexed so abandoned guest carts can be purged.
Carts still in old sessions are not carried over (they were never in the database).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_guest_carts"
down_revision = "0004_search_facet_columns"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("token", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_carts_token"), ["token"])
        batch_op.create_index(batch_op.f("ix_carts_updated_at"), ["updated_at"], unique=False)
        batch_op.create_check_constraint("owner_or_token", "(user_id IS NULL) <> (token IS NULL)")


def downgrade():
    op.execute("DELETE FROM carts WHERE user_id IS NULL")
    with op.batch_alter_table("carts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_carts_owner_or_token"), type_="check")
        batch_op.drop_index(batch_op.f("ix_carts_updated_at"))
        batch_op.drop_constraint(batch_op.f("uq_carts_token"), type_="unique")
        batch_op.drop_column("token")
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
