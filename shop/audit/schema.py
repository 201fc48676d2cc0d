"""The database triggers that make ``audit_entries`` append-only, per dialect.

An UPDATE or DELETE of an entry raises. The one update allowed is the foreign key's own
``ON DELETE SET NULL``: when a user is deleted their entries keep everything but the
``actor_id`` (the copied e-mail still says who it was).

The migration ``0014_audit_log`` carries a frozen copy of these statements; the models
install them with ``create_all`` (tests, a fresh development database).
"""

from __future__ import annotations

from sqlalchemy import DDL, Table, event

#: The error text both databases raise.
REFUSAL = "audit entries are append-only"

_SQLITE_KEEP = " AND ".join(
    f"NEW.{c} IS OLD.{c}"
    for c in (
        "id",
        "at",
        "actor_email",
        "ip",
        "kind",
        "object_type",
        "object_id",
        "object_label",
        "changes",
        "note",
    )
)

SQLITE_CREATE = (
    f"""CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
    WHEN NOT (NEW.actor_id IS NULL AND {_SQLITE_KEEP})
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""",
    f"""CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
    BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS audit_entries_no_update",
    "DROP TRIGGER IF EXISTS audit_entries_no_delete",
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
POSTGRES_DROP = (
    "DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries",
    "DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries",
    "DROP FUNCTION IF EXISTS audit_entries_append_only()",
)


def install_on_create(table: Table) -> None:
    """Create the triggers whenever ``create_all`` creates ``table`` (per dialect)."""
    for statement in SQLITE_CREATE:
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    for statement in POSTGRES_CREATE:
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="postgresql"))
    # Dropping the table drops its triggers, not the function they call.
    event.listen(table, "after_drop", DDL(POSTGRES_DROP[2]).execute_if(dialect="postgresql"))


def purge_statements(dialect: str) -> list[str]:
    """Statements that empty ``audit_entries`` in spite of the triggers, for throwaway test
    databases only: they lift the triggers for one transaction (the table's owner only) and
    put them back. Nothing in the application uses them.

    Args:
        dialect: ``"postgresql"`` or ``"sqlite"``.
    """
    if dialect == "postgresql":
        return [
            "ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only",
            "DELETE FROM audit_entries",
            "ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only",
        ]
    return [*SQLITE_DROP, "DELETE FROM audit_entries", *SQLITE_CREATE]
