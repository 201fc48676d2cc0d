"""The audit log's service and its hooks: each staff change writes one entry with the old
and new value of every field it changed, in the change's own transaction; the database
refuses to change or delete an entry."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from shop import audit
from shop.audit.models import AuditEntry
from shop.auth import services as auth_services
from shop.auth.models import User
from shop.catalog import editing
from shop.catalog.importer import import_catalog
from shop.catalog.models import StockMovement
from shop.exceptions import Conflict, InvalidTransition, StaleWrite, ValidationFailed
from shop.orders import services as order_services
from shop.payments import refunds
from shop.pricing import code_services
from shop.pricing import services as pricing_services
from tests.factories import make_category, make_product, make_user
from tests.refund_factories import make_paid_order
from tests.test_migrations import empty_database_url  # noqa: F401  (a fixture)


def entries(kind: str | None = None) -> list[AuditEntry]:
    """Committed entries (of one kind), oldest first, read fresh."""
    from shop.extensions import db

    db.session.expire_all()
    stmt = select(AuditEntry).order_by(AuditEntry.id)
    if kind:
        stmt = stmt.where(AuditEntry.kind == kind)
    return list(db.session.scalars(stmt))


@pytest.fixture
def staff(db):
    user = make_user(email="clerk@example.com", role="staff")
    db.session.commit()
    return user


# --- the service ----------------------------------------------------------------------------


def test_diff_lists_changed_fields_only():
    assert audit.diff({"a": 1, "b": "x", "c": None}, {"a": 2, "b": "x", "d": 4}) == {
        "a": [1, 2],
        "d": [None, 4],
    }
    assert audit.diff({"a": 1}, {"a": 1}) == {}


def test_record_copies_the_actor_email_and_flushes_without_committing(db, staff):
    entry = audit.record(
        "product.update", "product", 7, "SKU7", {"price_cents": [100, 200]}, staff.id, "typo"
    )
    assert entry.id is not None and entry.actor_email == "clerk@example.com" and entry.ip is None
    assert entry.at.tzinfo is not None
    db.session.rollback()
    assert entries() == []


def test_staff_only_skips_shoppers_and_the_system(db, staff):
    shopper = make_user()
    assert audit.record("order.transition", "order", 1, "X", {}, shopper.id, staff_only=True) is None
    assert audit.record("order.transition", "order", 1, "X", {}, None, staff_only=True) is None
    assert audit.record("order.transition", "order", 1, "X", {}, staff.id, staff_only=True) is not None


# --- append-only in the database --------------------------------------------------------------


def _one_entry(db, staff) -> int:
    entry = audit.record(
        "user.role", "user", staff.id, staff.email, {"role": ["customer", "staff"]}, staff.id
    )
    db.session.commit()
    return entry.id


@pytest.mark.parametrize(
    "statement",
    [
        lambda i: update(AuditEntry).where(AuditEntry.id == i).values(note="rewritten"),
        lambda i: update(AuditEntry).where(AuditEntry.id == i).values(actor_id=None, note="hidden"),
        lambda i: delete(AuditEntry).where(AuditEntry.id == i),
    ],
    ids=["update", "update-with-actor-cleared", "delete"],
)
def test_the_database_refuses_to_change_or_delete_an_entry(db, staff, statement):
    entry_id = _one_entry(db, staff)
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(statement(entry_id))
    db.session.rollback()
    assert [(e.id, e.note, e.actor_id) for e in entries()] == [(entry_id, "", staff.id)]


def test_raw_sql_is_refused_too(db, staff):
    _one_entry(db, staff)
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text("DELETE FROM audit_entries"))
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("TRUNCATE audit_entries"))
        db.session.rollback()
    assert len(entries()) == 1


def test_deleting_a_user_keeps_their_entries_with_the_email(db, staff):
    entry_id = _one_entry(db, staff)
    db.session.execute(delete(User).where(User.id == staff.id))
    db.session.commit()
    [entry] = entries()
    assert (entry.id, entry.actor_id, entry.actor_email) == (entry_id, None, "clerk@example.com")


# --- products and stock -------------------------------------------------------------------------


def test_product_create_records_every_field_and_the_initial_stock(db, staff):
    leaf = make_category("Laptops", parent=make_category("Computers"))
    product = editing.create_product(
        {"sku": "NB-1", "name": "Notebook", "price_cents": 5295, "stock": 3, "category_id": leaf.id}, staff.id
    )
    db.session.commit()
    [created] = entries("product.create")
    assert (created.object_type, created.object_id, created.object_label) == ("product", product.id, "NB-1")
    assert created.changes["price_cents"] == [None, 5295] and created.changes["name"] == [None, "Notebook"]
    assert created.changes["category_id"] == [None, leaf.id] and created.changes["status"] == [None, "draft"]
    assert "stock" not in created.changes
    [stock] = entries("stock.set")
    movement = db.session.scalar(select(StockMovement).where(StockMovement.product_id == product.id))
    assert stock.changes == {"stock": [0, 3]} and f"ledger movement {movement.id}" in stock.note
    assert created.actor_email == stock.actor_email == "clerk@example.com"


def test_product_update_records_old_and_new_of_each_changed_field(db, staff):
    cat = make_category("Phones")
    product = make_product(name="Old name", price_cents=1000, stock=5, status="draft")
    db.session.commit()
    editing.update_product(
        product.id,
        {"name": "New name", "price_cents": 1250, "status": "active", "category_id": cat.id, "brand": "Acme"},
        staff.id,
    )
    db.session.commit()
    [entry] = entries("product.update")
    assert entry.changes == {
        "name": ["Old name", "New name"],
        "price_cents": [1000, 1250],
        "status": ["draft", "active"],
        "category_id": [None, cat.id],
    }
    assert entries("stock.set") == []


def test_stock_edit_records_old_new_and_the_ledger_row_only(db, staff):
    product = make_product(stock=5)
    db.session.commit()
    editing.update_product(product.id, {"stock": 8}, staff.id, expected_stock=5)
    db.session.commit()
    assert entries("product.update") == []
    [entry] = entries("stock.set")
    movement_id = db.session.scalar(select(func.max(StockMovement.id)))
    assert entry.changes == {"stock": [5, 8]} and entry.note.startswith(f"ledger movement {movement_id} ")
    assert (entry.object_id, entry.object_label) == (product.id, product.sku)


def test_an_edit_that_changes_nothing_writes_nothing(db, staff):
    product = make_product(name="Same", price_cents=1000)
    db.session.commit()
    editing.update_product(
        product.id, {"name": "Same", "price_cents": 1000, "stock": product.stock}, staff.id
    )
    db.session.commit()
    assert entries() == []


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"stock": 1, "price_cents": 5}, StaleWrite),
        ({"price_cents": -1}, ValidationFailed),
        ({"sku": "TAKEN"}, Conflict),
    ],
)
def test_a_refused_edit_writes_no_entry(db, staff, changes, error):
    make_product(sku="TAKEN")
    product = make_product(stock=5)
    db.session.commit()
    with pytest.raises(error):
        editing.update_product(product.id, changes, staff.id, expected_stock=4)
    db.session.rollback()
    assert entries() == []


def test_rolling_the_change_back_removes_its_entry(db, staff):
    product = make_product(price_cents=1000, stock=5)
    db.session.commit()
    editing.update_product(product.id, {"price_cents": 999, "stock": 2}, staff.id, expected_stock=5)
    assert {e.kind for e in db.session.scalars(select(AuditEntry))} == {"product.update", "stock.set"}
    db.session.rollback()
    assert entries() == []


def test_archive_records_the_status(db, staff):
    product = make_product(status="active")
    db.session.commit()
    editing.archive_product(product.id, staff.id)
    editing.archive_product(product.id, staff.id)  # already archived: nothing more
    db.session.commit()
    [entry] = entries()
    assert (entry.kind, entry.changes, entry.actor_id) == (
        "product.archive",
        {"status": ["active", "archived"]},
        staff.id,
    )


# --- orders and refunds ---------------------------------------------------------------------------


def test_staff_transitions_are_recorded_with_the_note_but_not_a_shoppers(db, staff):
    shopper = make_user()
    product = make_product(stock=5)
    order = make_paid_order([(product, 1000, 1, 0, 0)], user=shopper)
    pending = make_paid_order([(product, 1000, 1, 0, 0)], user=shopper, status="pending_payment")
    db.session.commit()
    order_services.transition_order(order.id, "shipped", staff.id, "DHL 123")
    order_services.cancel_order(pending.id, shopper.id)
    db.session.commit()
    [entry] = entries()
    assert (entry.kind, entry.object_type, entry.object_id, entry.object_label) == (
        "order.transition",
        "order",
        order.id,
        order.number,
    )
    assert entry.changes == {"status": ["paid", "shipped"]} and entry.note == "DHL 123"
    with pytest.raises(InvalidTransition):
        order_services.transition_order(order.id, "paid", staff.id)
    db.session.rollback()
    assert len(entries()) == 1


def test_a_staff_refund_is_recorded_on_its_order(db, staff):
    product = make_product(stock=5)
    order = make_paid_order([(product, 3000, 2, 0, 0)])
    db.session.commit()
    line_id = order.lines[0].id
    refund = refunds.refund_order(
        order.id, lines=[(line_id, 1)], restock=True, actor_id=staff.id, reason="broken"
    )
    db.session.commit()
    [entry] = entries("refund.create")
    assert (entry.object_type, entry.object_id, entry.object_label, entry.note) == (
        "order",
        order.id,
        order.number,
        "broken",
    )
    assert entry.changes["refund_id"] == [None, refund.id] and entry.changes["amount_cents"] == [None, 3000]
    assert entry.changes["restock"] == [None, True]
    assert [e.changes for e in entries("order.transition")] == [{"status": ["paid", "partially_refunded"]}]


# --- accounts -------------------------------------------------------------------------------------


def test_role_changes_are_recorded(db):
    admin = make_user(email="boss@example.com", role="admin")
    user = make_user(email="new@example.com")
    db.session.commit()
    auth_services.set_role(admin, user.id, "staff")
    auth_services.set_role(admin, user.id, "staff")  # no change, no entry
    db.session.commit()
    [entry] = entries()
    assert (entry.kind, entry.object_id, entry.object_label, entry.actor_email) == (
        "user.role",
        user.id,
        "new@example.com",
        "boss@example.com",
    )
    assert entry.changes == {"role": ["customer", "staff"]}
    with pytest.raises(Conflict):
        auth_services.set_role(admin, admin.id, "customer")  # the last admin
    db.session.rollback()
    assert len(entries()) == 1


def test_token_creation_and_revocation_are_recorded(db, staff):
    token, _secret = auth_services.create_api_token(staff, name="ci", scopes=["read"])
    auth_services.revoke_api_token(staff, token.id)
    auth_services.revoke_api_token(staff, token.id)  # already revoked
    db.session.commit()
    created, revoked = entries()
    assert (created.kind, created.object_type, created.object_id) == ("token.create", "api_token", token.id)
    assert created.changes["name"] == [None, "ci"] and created.changes["scopes"] == [None, "read"]
    assert token.prefix in created.object_label
    assert revoked.kind == "token.revoke" and revoked.changes["revoked_at"][0] is None
    assert revoked.changes["revoked_at"][1] is not None


# --- pricing --------------------------------------------------------------------------------------


def test_shipping_method_create_update_delete(db, staff):
    method = pricing_services.create_shipping_method(
        {"name": "Standard", "price_cents": 495, "min_days": 1, "max_days": 3}, staff.id
    )
    pricing_services.update_shipping_method(method.id, {"price_cents": 595, "name": "Standard"}, staff.id)
    pricing_services.delete_shipping_method(method.id, staff.id)
    db.session.commit()
    created, updated, deleted = entries()
    assert created.kind == "pricing.shipping_method.create" and created.changes["price_cents"] == [None, 495]
    assert updated.changes == {"price_cents": [495, 595]}
    assert deleted.kind == "pricing.shipping_method.delete" and deleted.changes["price_cents"] == [595, None]
    assert {e.object_id for e in (created, updated, deleted)} == {method.id}


def test_tax_rate_create_update_delete(db, staff):
    rate = pricing_services.create_tax_rate({"country": "de", "name": "VAT", "rate_bp": 1900}, staff.id)
    pricing_services.update_tax_rate(rate.id, {"rate_bp": 700}, staff.id)
    with pytest.raises(ValidationFailed):
        pricing_services.update_tax_rate(rate.id, {"rate_bp": 20000}, staff.id)
    db.session.commit()
    pricing_services.delete_tax_rate(rate.id, staff.id)
    db.session.commit()
    kinds = [(e.kind, e.changes.get("rate_bp"), e.object_label) for e in entries()]
    assert kinds == [
        ("pricing.tax_rate.create", [None, 1900], "DE VAT"),
        ("pricing.tax_rate.update", [1900, 700], "DE VAT"),
        ("pricing.tax_rate.delete", [700, None], "DE VAT"),
    ]


def test_discount_code_create_update_and_refused_delete(db, staff):
    code = code_services.create_discount_code(
        {"code": "spring", "kind": "percentage", "value": 1000}, staff.id
    )
    code_services.update_discount_code(code.id, {"value": 1500, "is_active": False}, staff.id)
    db.session.commit()
    code.times_used = 1
    db.session.commit()
    with pytest.raises(Conflict):
        code_services.delete_discount_code(code.id, staff.id)
    db.session.rollback()
    created, updated = entries()
    assert created.object_label == "SPRING" and created.changes["value"] == [None, 1000]
    assert updated.changes == {"value": [1000, 1500], "is_active": [True, False]}


# --- imports --------------------------------------------------------------------------------------


def test_an_import_run_is_one_entry_with_its_counts(db, tmp_path):
    from tests.test_catalog_importer import GOOD, _write_csv

    import_catalog(_write_csv(tmp_path / "products.csv", GOOD + "oops,,,\n"))
    db.session.commit()
    [entry] = entries()
    assert (entry.kind, entry.object_type, entry.object_label, entry.actor_id) == (
        "import.run",
        "catalog",
        "products.csv",
        None,
    )
    assert entry.changes["created"] == [None, 2] and entry.changes["updated"] == [None, 0]
    assert entry.note == "skipped rows: 1"


# --- the migration ----------------------------------------------------------------------------------


@pytest.fixture
def loggers_kept():
    """Alembic's ``fileConfig`` disables every logger that exists; later tests read some of
    them (e.g. Flask-Limiter's warnings), so their state is put back afterwards."""
    import logging

    loggers = [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    before = [(lg, lg.disabled) for lg in loggers]
    yield
    for lg, disabled in before:
        lg.disabled = disabled


def test_the_migration_installs_the_triggers(app_factory, empty_database_url, loggers_kept):
    from flask_migrate import upgrade

    from shop.extensions import db

    app = app_factory(SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade()
        admin = make_user(role="admin")
        audit.record("user.role", "user", admin.id, admin.email, {"role": ["staff", "admin"]}, admin.id)
        db.session.commit()
        for statement in ("UPDATE audit_entries SET kind = 'x'", "DELETE FROM audit_entries"):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        db.session.execute(delete(User).where(User.id == admin.id))  # the foreign key's SET NULL
        db.session.commit()
        assert db.session.execute(select(AuditEntry.actor_id, AuditEntry.actor_email)).all() == [
            (None, admin.email)
        ]
        db.session.remove()


def test_a_password_reset_records_each_revoked_token(db, staff):
    kept_for_later, _ = auth_services.create_api_token(staff, name="deploy", scopes=["read"])
    other, _ = auth_services.create_api_token(staff, name="backup", scopes=["read"])
    auth_services.revoke_api_token(staff, other.id)
    user, secret = auth_services.request_password_reset(staff.email)
    db.session.commit()
    auth_services.reset_password(secret, "a brand new long passphrase 42")
    db.session.commit()
    revoked = [e for e in entries("token.revoke") if e.note == "password reset"]
    assert [(e.object_id, e.actor_id) for e in revoked] == [(kept_for_later.id, staff.id)]
    assert revoked[0].changes["revoked_at"][0] is None and "deploy" in revoked[0].object_label
    (changed,) = entries("user.password")
    assert (changed.object_id, changed.actor_id, changed.changes) == (staff.id, staff.id, {})


def test_a_shoppers_password_reset_records_the_tokens_but_not_the_password(db):
    shopper = make_user(email="shopper@example.com")
    token, _ = auth_services.create_api_token(shopper, name="script", scopes=["read"])
    _, secret = auth_services.request_password_reset(shopper.email)
    db.session.commit()
    auth_services.reset_password(secret, "a brand new long passphrase 42")
    db.session.commit()
    assert [e.object_id for e in entries("token.revoke")] == [token.id]
    assert entries("user.password") == []


def test_create_admin_records_the_account_the_role_the_password_and_tokens(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["shop", "create-admin", "--email", "new@example.com", "--password", "correct horse battery 7"]
    )
    assert result.exit_code == 0, result.output
    (created,) = entries("user.create")
    assert (created.actor_id, created.changes, created.note) == (
        None,
        {"role": [None, "admin"]},
        "flask shop create-admin",
    )

    member = make_user(email="member@example.com", role="staff")
    token, _ = auth_services.create_api_token(member, name="ci", scopes=["read"])
    db.session.commit()
    result = runner.invoke(
        args=[
            "shop",
            "create-admin",
            "--email",
            "member@example.com",
            "--password",
            "another horse battery 8",
        ]
    )
    assert result.exit_code == 0, result.output
    (role,) = entries("user.role")
    assert (role.object_id, role.actor_id, role.changes) == (member.id, None, {"role": ["staff", "admin"]})
    assert [(e.object_id, e.note) for e in entries("token.revoke")] == [(token.id, "flask shop create-admin")]
    assert [e.object_id for e in entries("user.password")] == [member.id]
