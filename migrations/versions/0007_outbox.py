"""outbox: messages written with what causes them, delivered by a job

Revision ID: 0007_outbox
Revises: 0006_login_sessions
Create Date: 2026-12-02

Order confirmations and password-reset mails used to be sent by the request, after its
commit: a crash or an outage between the two lost the mail, and the request's answer
depended on the mail server. Now the request writes an ``outbox_messages`` row in its own
transaction and a job delivers it (claim, send, mark sent); a sweep hands over rows that
stay unsent. ``key`` is unique so one cause writes one message.
"""

import sqlalchemy as sa
from alembic import op

import shop.dbtypes

revision = "0007_outbox"
down_revision = "0006_login_sessions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("payload", shop.dbtypes.JSONType(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'skipped', 'failed')",
            name=op.f("ck_outbox_messages_status_valid"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_messages_attempts_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_messages_key")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_messages_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_status_next_attempt_at")
    op.drop_table("outbox_messages")
