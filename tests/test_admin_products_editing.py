"""The product write services in shop.catalog.editing, called directly (no HTTP)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shop.catalog import editing
from shop.catalog.models import Product, StockMovement
from shop.catalog.stock import allocate, ledger_mismatches
from shop.exceptions import Conflict, NotFound, StaleWrite, ValidationFailed
from shop.extensions import db as _db
from tests.factories import make_category, make_product, make_user


def ledger(product_id):
    """The product's ledger rows as ``[(delta, reason, actor_id)]``, oldest first."""
    return [
        (m.delta, m.reason, m.actor_id)
        for m in _db.session.scalars(
            select(StockMovement).where(StockMovement.product_id == product_id).order_by(StockMovement.id)
        )
    ]


def test_create_product_with_stock_records_ledger_and_slug(db):
    staff = make_user(role="staff")
    cat = make_category("Phones")
    product = editing.create_product(
        {
            "sku": " PH-1 ",
            "name": "Fairphone 5 — 256 GB",
            "brand": "Fairphone",
            "price_cents": 69900,
            "stock": 5,
            "status": "active",
            "category_id": cat.id,
        },
        staff.id,
    )
    db.session.commit()
    assert product.id and product.sku == "PH-1" and product.stock == 5
    assert product.slug == "fairphone-5-256-gb"
    assert product.category_id == cat.id and product.price_cents == 69900
    assert ledger(product.id) == [(5, "staff_edit", staff.id)]
    assert ledger_mismatches() == []


def test_create_defaults_to_draft_without_stock_rows(db):
    product = editing.create_product({"sku": "D1", "name": "Draft thing", "price_cents": 0}, None)
    assert product.status == "draft" and product.stock == 0 and product.brand == ""
    assert ledger(product.id) == []


def test_slugs_stay_unique_for_equal_names(db):
    a = editing.create_product({"sku": "A", "name": "USB-C Cable", "price_cents": 100}, None)
    b = editing.create_product({"sku": "B-2", "name": "USB-C Cable", "price_cents": 100}, None)
    c = editing.create_product({"sku": "B-2x", "name": "USB C cable", "price_cents": 100}, None)
    assert a.slug == "usb-c-cable" and b.slug == "usb-c-cable-b-2"
    assert len({a.slug, b.slug, c.slug}) == 3


def test_duplicate_sku_is_conflict(db):
    make_product(sku="DUP")
    with pytest.raises(Conflict) as err:
        editing.create_product({"sku": "DUP", "name": "x", "price_cents": 1}, None)
    assert err.value.status == 409 and "sku" in err.value.errors
    other = make_product(sku="OTHER")
    with pytest.raises(Conflict):
        editing.update_product(other.id, {"sku": "DUP"}, None)
    # keeping one's own SKU is fine
    assert editing.update_product(other.id, {"sku": "OTHER", "name": "Renamed"}, None).name == "Renamed"


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"price_cents": 12.5}, "price_cents"),
        ({"price_cents": "1295"}, "price_cents"),
        ({"price_cents": -1}, "price_cents"),
        ({"price_cents": True}, "price_cents"),
        ({"stock": -2}, "stock"),
        ({"status": "deleted"}, "status"),
        ({"name": "   "}, "name"),
        ({"category_id": 987654}, "category_id"),
        ({"image_url": "javascript:alert(1)"}, "image_url"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_fields_raise_validation_failed(db, bad, field):
    data = {"sku": "V1", "name": "Valid", "price_cents": 100, **bad}
    with pytest.raises(ValidationFailed) as err:
        editing.create_product(data, None)
    assert field in err.value.errors and err.value.status == 422
    assert db.session.scalar(select(func.count(Product.id))) == 0

    product = make_product(price_cents=500)
    with pytest.raises(ValidationFailed) as err:
        editing.update_product(product.id, bad, None)
    assert field in err.value.errors


def test_missing_required_fields(db):
    with pytest.raises(ValidationFailed) as err:
        editing.create_product({"brand": "x"}, None)
    assert set(err.value.errors) == {"sku", "name", "price_cents"}


def test_update_fields_and_keep_slug(db):
    product = make_product(name="Old name", price_cents=1000, slug="old-name")
    updated = editing.update_product(
        product.id, {"name": "New name", "price_cents": 1299, "status": "draft", "description": "d"}, None
    )
    db.session.commit()
    db.session.expire_all()
    assert (updated.name, updated.price_cents, updated.status, updated.description) == (
        "New name",
        1299,
        "draft",
        "d",
    )
    assert updated.slug == "old-name"


def test_update_stock_compare_and_swap(db):
    staff = make_user(role="staff")
    product = make_product(stock=10)
    editing.update_product(product.id, {"stock": 12}, staff.id, expected_stock=10)
    assert product.stock == 12
    assert ledger(product.id)[-1] == (2, "staff_edit", staff.id)

    allocate(product.id, 3, order_id=None)  # a sale: 9 left
    db.session.commit()
    with pytest.raises(StaleWrite) as err:
        editing.update_product(product.id, {"stock": 20, "price_cents": 1}, staff.id, expected_stock=12)
    assert "9" in err.value.detail and err.value.errors["stock"] == ["Now 9, not 12."]
    db.session.rollback()
    db.session.expire_all()
    assert product.stock == 9 and product.price_cents == 5295
    assert ledger_mismatches() == []


def test_update_stock_without_expected_figure_is_unguarded(db):
    product = make_product(stock=3)
    editing.update_product(product.id, {"stock": 0}, None)
    assert product.stock == 0 and ledger(product.id)[-1] == (-3, "staff_edit", None)
    assert ledger_mismatches() == []


def test_unchanged_stock_writes_no_ledger_row(db):
    product = make_product(stock=4)
    editing.update_product(product.id, {"stock": 4, "price_cents": 1}, None, expected_stock=4)
    assert ledger(product.id) == [(4, "import", None)]


def test_missing_product_is_not_found(db):
    with pytest.raises(NotFound):
        editing.update_product(424242, {"name": "x"}, None)
    with pytest.raises(NotFound):
        editing.archive_product(424242)


def test_archive_hides_from_shoppers_and_is_idempotent(db):
    product = make_product(stock=6)
    assert editing.archive_product(product.id).status == "archived"
    db.session.commit()
    assert editing.archive_product(product.id).status == "archived"
    assert product.stock == 6
    assert db.session.scalars(Product.active()).all() == []


def test_services_flush_but_do_not_commit(db):
    product = editing.create_product({"sku": "TX", "name": "Rolled back", "price_cents": 1, "stock": 2}, None)
    editing.update_product(product.id, {"price_cents": 2}, None)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Product.id))) == 0
    assert db.session.scalar(select(func.count(StockMovement.id))) == 0
