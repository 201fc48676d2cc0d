"""Product sheets through the services and the commands: export, edit a copy, preview,
confirm; stock through the ledger as compare-and-swap against the exported figure."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from shop.catalog.models import Product, ProductImport, StockMovement
from shop.catalog.sheets import apply
from shop.catalog.sheets.export import export_query, iter_csv
from shop.catalog.sheets.preview import create_preview
from shop.catalog.sheets.reading import SheetError, estimate_rows, read_sheet
from shop.catalog.stock import allocate, ledger_mismatches
from tests.factories import make_category, make_product, make_user
from tests.sheethelpers import by_sku, csv_bytes, export_csv_rows, export_xlsx_rows, xlsx_bytes


@pytest.fixture
def catalog(db):
    """Five products in ``Computers > Laptops``, and a staff member."""
    top = make_category("Computers", slug="computers")
    leaf = make_category("Laptops", parent=top, slug="laptops")
    make_category("Phones", parent=top, slug="phones")
    products = [
        make_product(sku=f"P{n}", name=f"Laptop {n}", price_cents=10000 + n, stock=10, category=leaf)
        for n in range(1, 6)
    ]
    staff = make_user(role="staff")
    db.session.commit()
    return {"products": products, "staff": staff, "leaf": leaf}


def preview(data: bytes, actor_id=None) -> ProductImport:
    record = create_preview(read_sheet(data, "edited.csv"), "edited.csv", actor_id, "USD")
    from shop.extensions import db

    db.session.commit()
    return record


def fresh(db, sku: str) -> Product:
    db.session.expire_all()
    return db.session.scalar(select(Product).where(Product.sku == sku))


def ledger(db, sku: str) -> list[tuple]:
    product = fresh(db, sku)
    return [
        (m.delta, m.reason, m.actor_id)
        for m in db.session.scalars(
            select(StockMovement).where(StockMovement.product_id == product.id).order_by(StockMovement.id)
        )
    ]


def edited_copy() -> tuple[list[dict], bytes]:
    """The export with a price, a name and a stock changed, a row added and a row broken."""
    rows = export_csv_rows()
    sheet = by_sku(rows)
    sheet["P1"]["price"] = "89.50"
    sheet["P2"]["name"] = "Laptop 2 (renamed)"
    sheet["P3"]["stock"] = "25"
    sheet["P4"]["price"] = "12,5x"
    rows.append(
        {
            "sku": "NEW-1",
            "name": "New laptop",
            "brand": "Acme",
            "category": "Computers > Phones",
            "price": "199.00",
            "stock": "4",
            "stock_exported": "",
            "status": "active",
            "description": "",
            "image_url": "",
        }
    )
    return rows, csv_bytes(rows)


def test_export_has_one_row_per_product_with_human_prices_and_category_path(catalog):
    rows = export_csv_rows()
    assert [r["sku"] for r in rows] == ["P1", "P2", "P3", "P4", "P5"]
    first = rows[0]
    assert first["price"] == "100.01" and first["stock"] == first["stock_exported"] == "10"
    assert first["category"] == "Computers > Laptops" and first["status"] == "active"
    assert list(first) == [
        "sku",
        "name",
        "brand",
        "category",
        "price",
        "stock",
        "stock_exported",
        "status",
        "description",
        "image_url",
    ]
    assert [r["sku"] for r in export_csv_rows(q="laptop 3")] == ["P3"]


def test_csv_export_is_streamed_in_chunks(catalog):
    chunks = list(iter_csv(export_query(), "USD", rows_per_chunk=2))
    assert len(chunks) == 3  # header + 5 rows in chunks of 2 rows
    assert "".join(chunks).count("\r\n") == 6


def test_preview_shows_exactly_the_edits_and_writes_nothing(catalog, db):
    _rows, data = edited_copy()
    record = preview(data, catalog["staff"].id)
    assert record.status == "previewed"
    assert record.counts == {"rows": 6, "create": 1, "update": 3, "unchanged": 1, "failed": 1, "conflicts": 0}
    assert [(p["line"], p["column"], p["sku"]) for p in record.problems] == [(5, "price", "P4")]
    assert "bad price" in record.problems[0]["reason"]
    plan = {e["sku"]: e for e in record.plan}
    assert plan["P1"]["changes"] == {"price_cents": 8950} and plan["P1"]["before"] == {"price_cents": 10001}
    assert plan["P2"]["changes"] == {"name": "Laptop 2 (renamed)"}
    assert (plan["P3"]["changes"], plan["P3"]["stock"], plan["P3"]["expected_stock"]) == ({}, 25, 10)
    assert plan["NEW-1"]["action"] == "create" and plan["NEW-1"]["stock"] == 4
    # Nothing written yet.
    assert fresh(db, "P1").price_cents == 10001 and fresh(db, "P3").stock == 10
    assert fresh(db, "NEW-1") is None


def test_confirm_applies_the_preview_with_ledger_rows(catalog, db):
    staff = catalog["staff"]
    _rows, data = edited_copy()
    record = preview(data, staff.id)
    apply.confirm_import(record.id)
    db.session.commit()  # the job runs after the commit (at once in the tests)
    db.session.expire_all()
    record = db.session.get(ProductImport, record.id)
    assert record.status == "applied" and (record.processed, record.total) == (4, 4)
    assert record.result["created"] == 1 and record.result["updated"] == 3
    assert record.result["stock_movements"] == 2 and record.result["conflicts"] == []
    assert fresh(db, "P1").price_cents == 8950
    assert fresh(db, "P2").name == "Laptop 2 (renamed)"
    assert fresh(db, "P4").price_cents == 10004  # the broken row changed nothing
    assert ledger(db, "P3") == [(10, "import", None), (15, "import", staff.id)]
    new = fresh(db, "NEW-1")
    assert (new.price_cents, new.stock, new.status, new.category.slug) == (19900, 4, "active", "phones")
    assert ledger(db, "NEW-1") == [(4, "import", staff.id)]
    assert ledger_mismatches() == []


def test_a_sale_between_export_and_import_is_a_conflict(catalog, db):
    rows = export_csv_rows()
    sheet = by_sku(rows)
    sheet["P1"]["stock"] = "30"  # staff restock P1 ...
    sheet["P2"]["price"] = "50.00"  # ... and reprice P2, leaving its stock as exported
    p1, p2 = catalog["products"][:2]
    allocate(p1.id, 2, None)  # meanwhile both sell
    allocate(p2.id, 1, None)
    db.session.commit()
    record = preview(csv_bytes(rows))
    assert record.counts["conflicts"] == 1 and record.counts["failed"] == 1
    (problem,) = record.problems
    assert (problem["line"], problem["column"], problem["sku"], problem["conflict"]) == (
        2,
        "stock",
        "P1",
        True,
    )
    assert "now 8" in problem["reason"] and "showed 10" in problem["reason"]
    assert [e["sku"] for e in record.plan] == ["P2"] and "stock" not in record.plan[0]
    apply.confirm_import(record.id)
    db.session.commit()
    assert fresh(db, "P1").stock == 8  # the sale was not overwritten
    assert (fresh(db, "P2").stock, fresh(db, "P2").price_cents) == (9, 5000)
    assert ledger_mismatches() == []


def test_confirm_refuses_when_a_product_changed_after_the_preview(catalog, db):
    rows = export_csv_rows()
    by_sku(rows)["P1"]["price"] = "1.00"
    record = preview(csv_bytes(rows))
    allocate(catalog["products"][0].id, 1, None)
    db.session.commit()
    record = apply.confirm_import(record.id)
    db.session.commit()
    assert record.status == "refused" and record.result["changed"] == ["P1"]
    assert fresh(db, "P1").price_cents == 10001
    with pytest.raises(Exception, match="already confirmed"):
        apply.confirm_import(record.id)


def test_a_sale_after_confirming_and_before_the_job_skips_only_that_row(catalog, db):
    rows = export_csv_rows()
    sheet = by_sku(rows)
    sheet["P1"]["stock"], sheet["P2"]["stock"] = "20", "21"
    record = preview(csv_bytes(rows), catalog["staff"].id)
    apply.confirm_import(record.id, hand_over=False)
    db.session.commit()
    allocate(catalog["products"][0].id, 1, None)
    db.session.commit()
    assert apply.run_import(record.id) == "applied"
    assert apply.run_import(record.id) == "skipped"  # a second run changes nothing
    db.session.expire_all()
    record = db.session.get(ProductImport, record.id)
    assert [(c["line"], c["sku"]) for c in record.result["conflicts"]] == [(2, "P1")]
    assert fresh(db, "P1").stock == 9 and fresh(db, "P2").stock == 21
    assert ledger_mismatches() == []


def test_every_failing_row_is_reported_with_line_column_and_reason(catalog, db):
    rows = export_csv_rows()
    sheet = by_sku(rows)
    sheet["P1"]["category"] = "Garden > Hoses"
    sheet["P2"]["stock"] = "-3"
    sheet["P3"]["status"] = "gone"
    sheet["P5"]["price"] = "77.00"  # a good edit among the bad ones
    rows.append(dict(sheet["P5"], price="66.00"))  # the same SKU again
    rows.append(dict(sheet["P4"], sku="NEW-2", name="", price="5"))
    data = csv_bytes(rows).replace(b"Laptop 4", "Laptop f\u00fcr".encode("latin-1"))
    record = preview(data)
    found = [(p["line"], p["column"], p["sku"]) for p in record.problems]
    assert found == [
        (2, "category", "P1"),
        (3, "stock", "P2"),
        (4, "status", "P3"),
        (5, "name", "P4"),
        (7, "sku", "P5"),
        (8, "name", "NEW-2"),
    ]
    reasons = [p["reason"] for p in record.problems]
    assert "unknown category" in reasons[0] and "negative stock" in reasons[1]
    assert "bad encoding" in reasons[3] and "first on line 6" in reasons[4]
    assert record.counts["failed"] == 6 and [e["sku"] for e in record.plan] == ["P5"]
    assert record.plan[0]["changes"] == {"price_cents": 7700}


def test_a_file_without_sku_column_or_not_a_workbook_is_refused():
    with pytest.raises(SheetError, match="no 'sku' column"):
        read_sheet(b"name,price\nx,1\n")
    with pytest.raises(SheetError, match="XLSX"):
        read_sheet(b"PK\x03\x04 broken", "x.xlsx")
    with pytest.raises(SheetError, match="empty"):
        read_sheet(b"  \n")


def test_xlsx_round_trip(catalog, db):
    rows = export_xlsx_rows()
    header = rows[0]
    assert header[:6] == ["sku", "name", "brand", "category", "price", "stock"]
    assert rows[1][4] == 100.01 and rows[1][5] == 10  # numbers, editable as numbers
    rows[1][4] = 95.5
    rows[2][header.index("stock")] = 3
    rows.append(["X-9", "Workbook laptop", "Acme", "Computers > Laptops", 10, 2, None, "draft", "", ""])
    record = create_preview(read_sheet(xlsx_bytes(rows), "edited.xlsx"), "edited.xlsx", None, "USD")
    db.session.commit()
    assert (record.counts["create"], record.counts["update"], record.counts["failed"]) == (1, 2, 0)
    apply.confirm_import(record.id)
    db.session.commit()
    assert fresh(db, "P1").price_cents == 9550 and fresh(db, "P2").stock == 3
    assert fresh(db, "X-9").status == "draft" and fresh(db, "X-9").stock == 2
    assert ledger_mismatches() == []


def _cli(app, *args):
    result = app.test_cli_runner().invoke(args=["shop", *map(str, args)])
    assert "Traceback" not in result.output, result.output
    return result


def test_cli_export_and_import_with_dry_run(app, catalog, db, tmp_path):
    path = tmp_path / "products.csv"
    result = _cli(app, "export-products", "--output", path)
    assert result.exit_code == 0 and "5 products written" in result.output
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    by_sku(rows)["P5"]["price"] = "1.99"
    by_sku(rows)["P5"]["stock"] = "0"
    by_sku(rows)["P1"]["price"] = "free"
    path.write_bytes(csv_bytes(rows))

    result = _cli(app, "import-products", path, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "5 rows: 0 to create, 1 to update, 3 unchanged, 1 failed" in result.output
    assert f"{path}, line 2, column price: bad price 'free'" in result.output
    assert "Dry run: nothing changed" in result.output
    assert fresh(db, "P5").price_cents == 10005

    result = _cli(app, "import-products", path)
    assert result.exit_code == 0, result.output
    assert "Applied: 0 created, 1 updated, 1 stock movements, 0 conflicts" in result.output
    assert (fresh(db, "P5").price_cents, fresh(db, "P5").stock) == (199, 0)
    assert ledger(db, "P5")[-1] == (-10, "import", None)

    xlsx = tmp_path / "products.xlsx"
    assert _cli(app, "export-products", "--format", "xlsx", "-o", xlsx).exit_code == 0
    result = _cli(app, "import-products", xlsx, "--dry-run")
    assert "5 rows: 0 to create, 0 to update, 5 unchanged, 0 failed" in result.output


def test_cli_refuses_an_unreadable_file(app, catalog, db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("name;price\n", encoding="utf-8")
    result = _cli(app, "import-products", path)
    assert result.exit_code == 1 and "no 'sku' column" in result.output
    assert db.session.scalar(select(func.count()).select_from(ProductImport)) == 0


def test_the_row_estimate_for_the_progress_bar():
    assert estimate_rows(b"sku,name\nA,x\nB,y\n") == 2
    assert estimate_rows(b"sku,name\nA,x\nB,y") == 2
    assert estimate_rows(b"sku,name\n") == 0
    rows = [["sku", "name"]] + [[f"S{i}", "n"] for i in range(7)]
    assert estimate_rows(xlsx_bytes(rows), "edited.xlsx") == 7
    assert estimate_rows(b"PK\x03\x04 not a workbook", "broken.xlsx") == 0
