"""audit log: the append-only staff log (audit_entries)

Revision ID: 0014_audit_log
Revises: 0013_fulfilment
Create Date: 2026-11-30

One new table. Triggers make it append-only in the database itself: an UPDATE or DELETE
of an entry raises, except the foreign key's own SET NULL of ``actor_id`` when a user is
deleted. The trigger statements are a frozen copy of ``shop/audit/schema.py``'s.
"""

import sqlalchemy as sa
from alembic import op

import shop.dbtypes

# revision identifiers, used by Alembic.
revision = "0014_audit_log"
down_revision = "0013_fulfilment"
branch_labels = None
depends_on = None

REFUSAL = "audit entries are append-only"
_KEPT = ("id", "at", "actor_email", "ip", "kind", "object_type", "object_id", "object_label", "changes", "note")
_SQLITE_KEEP = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in _KEPT)

SQLITE_CREATE = (
    f"""CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
    WHEN NOT (NEW.actor_id IS NULL AND {_SQLITE_KEEP})
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""",
    f"""CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""",
)
POSTGRES_CREATE = (
    f"""CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL
           AND (to_jsonb(NEW) - 'actor_id') = (to_jsonb(OLD) - 'actor_id') THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'insufficient_privilege';
    END $$""",
    """CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()""",
    """CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()""",
)


def upgrade():
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_email", sa.String(length=254), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("object_type", sa.String(length=50), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("object_label", sa.String(length=255), nullable=False),
        sa.Column("changes", shop.dbtypes.JSONType(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_entries_actor_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entries_at"), ["at"], unique=False)
        batch_op.create_index("ix_audit_entries_object", ["object_type", "object_id", "id"], unique=False)
        batch_op.create_index("ix_audit_entries_actor", ["actor_id", "id"], unique=False)
        batch_op.create_index("ix_audit_entries_kind", ["kind", "id"], unique=False)
    statements = POSTGRES_CREATE if op.get_bind().dialect.name == "postgresql" else SQLITE_CREATE
    for statement in statements:
        op.execute(statement)


def downgrade():
    op.drop_table("audit_entries")  # its triggers go with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
