"""Product sheet pages: export downloads, upload, preview, confirm, progress and result."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from shop.catalog.models import Product, ProductImport, ProductImportUpload, StockMovement
from tests.factories import make_category, make_product, make_user, sign_in
from tests.sheethelpers import by_sku, csv_bytes, export_csv_rows


@pytest.fixture
def staff(db):
    user = make_user(email="staff@example.com", role="staff")
    top = make_category("Computers", slug="computers")
    leaf = make_category("Laptops", parent=top, slug="laptops")
    for n in range(1, 4):
        make_product(sku=f"P{n}", name=f"Laptop {n}", price_cents=10000 + n, stock=10, category=leaf)
    make_product(sku="Q1", name="Quiet mouse", price_cents=999, stock=0, brand="Mousy")
    db.session.commit()
    return user


@pytest.fixture
def staff_client(client, staff):
    sign_in(client, staff)
    return client


def upload(client, data: bytes, filename: str = "edited.csv", **extra):
    return client.post(
        "/admin/products/import",
        data={"file": (io.BytesIO(data), filename), **extra},
        content_type="multipart/form-data",
    )


def test_export_downloads_the_filtered_list_as_csv_or_xlsx(staff_client):
    resp = staff_client.get("/admin/products/export?format=csv&stock=out")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"), newline="")))
    assert [(r["sku"], r["price"], r["stock"]) for r in rows] == [("Q1", "9.99", "0")]

    resp = staff_client.get("/admin/products/export?format=xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(resp.data), read_only=True).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert [r[0] for r in values] == ["sku", "P1", "P2", "P3", "Q1"]
    assert staff_client.get("/admin/products/export?format=pdf").status_code == 404


def test_product_list_links_to_export_with_its_filters_and_to_import(staff_client):
    html = staff_client.get("/admin/products?q=laptop&stock=low").get_data(as_text=True)
    assert re.search(r'href="/admin/products/export\?[^"]*format=csv[^"]*q=laptop', html)
    assert 'href="/admin/products/import"' in html


def test_upload_preview_confirm_and_result(staff_client, staff, db):
    rows = export_csv_rows()
    by_sku(rows)["P1"]["price"] = "80.00"
    by_sku(rows)["P2"]["stock"] = "12"
    by_sku(rows)["P3"]["category"] = "Nowhere"
    resp = upload(staff_client, csv_bytes(rows))
    assert resp.status_code == 303
    record = db.session.scalar(select(ProductImport))
    assert resp.headers["Location"].endswith(f"/admin/products/imports/{record.id}")

    html = staff_client.get(resp.headers["Location"]).get_data(as_text=True)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', html))
    assert counts == {"create": "0", "update": "2", "unchanged": "1", "failed": "1", "conflicts": "0"}
    assert "unknown category &#39;Nowhere&#39;" in html and "<code>category</code>" in html
    assert "$100.01</del> → <ins>$80.00" in html and "Stock: <del>10</del> → <ins>12" in html
    assert "Apply these changes" in html
    assert db.session.scalar(select(Product.price_cents).where(Product.sku == "P1")) == 10001

    resp = staff_client.post(f"/admin/products/imports/{record.id}/confirm")
    assert resp.status_code == 303
    html = staff_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Applied: 0 created, 2 updated, 1 stock movement recorded" in html
    db.session.expire_all()
    assert db.session.scalar(select(Product.price_cents).where(Product.sku == "P1")) == 8000
    move = db.session.scalars(select(StockMovement).order_by(StockMovement.id.desc())).first()
    assert (move.delta, move.reason, move.actor_id) == (2, "import", staff.id)
    progress = staff_client.get(f"/admin/products/imports/{record.id}/progress").get_json()
    assert progress == {"status": "applied", "processed": 2, "total": 2, "finished": True}
    # Confirming twice applies nothing more.
    staff_client.post(f"/admin/products/imports/{record.id}/confirm")
    assert (
        db.session.scalar(
            select(func.count()).select_from(StockMovement).where(StockMovement.reason == "import")
        )
        == 4  # three products' initial stock, and this import's one movement
    )


def test_progress_page_while_queued_has_the_bar_the_script_and_a_refresh_link(staff_client, db):
    rows = export_csv_rows()
    by_sku(rows)["P1"]["price"] = "1.00"
    upload(staff_client, csv_bytes(rows))
    record = db.session.scalar(select(ProductImport))
    record.status, record.processed, record.total = "running", 0, 1
    db.session.commit()
    html = staff_client.get(f"/admin/products/imports/{record.id}").get_data(as_text=True)
    assert '<progress id="import-progress-bar"' in html and 'value="0"' in html
    assert "/static/js/import_progress.js" in html
    assert f'href="/admin/products/imports/{record.id}">Refresh</a>' in html
    assert staff_client.get(f"/admin/products/imports/{record.id}/progress").get_json()["finished"] is False


def test_a_sale_after_the_preview_refuses_the_confirmation(staff_client, db):
    from shop.catalog.stock import allocate

    rows = export_csv_rows()
    by_sku(rows)["P1"]["price"] = "1.00"
    upload(staff_client, csv_bytes(rows))
    record = db.session.scalar(select(ProductImport))
    allocate(db.session.scalar(select(Product.id).where(Product.sku == "P1")), 1, None)
    db.session.commit()
    resp = staff_client.post(f"/admin/products/imports/{record.id}/confirm", follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "products in this file changed since the preview" in html and "P1" in html
    db.session.expire_all()
    assert db.session.scalar(select(Product.price_cents).where(Product.sku == "P1")) == 10001


def test_bad_files_are_refused_on_the_form(staff_client, db):
    resp = upload(staff_client, b"name,price\nx,1\n")
    assert resp.status_code == 422 and "no &#39;sku&#39; column" in resp.get_data(as_text=True)
    resp = staff_client.post("/admin/products/import", data={}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "Choose a file." in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ProductImport)) == 0


def test_a_sheet_larger_than_an_ordinary_form_is_accepted(staff_client, db):
    rows = export_csv_rows()
    for row in rows:  # about 80 kB in all, over MAX_CONTENT_LENGTH
        row["description"] = "Long text. " * 1800
    resp = upload(staff_client, csv_bytes(rows))
    assert resp.status_code == 303
    assert db.session.scalar(select(ProductImport)).counts["update"] == 4


def test_a_cell_too_large_for_csv_refuses_the_file_with_its_line(staff_client, db):
    """The header reads, so the upload is taken; the planning job stops at the bad line and
    the import page says where, with nothing saved."""
    rows = export_csv_rows()
    by_sku(rows)["P2"]["description"] = "x" * 140_000
    resp = upload(staff_client, csv_bytes(rows))
    assert resp.status_code == 303
    record = db.session.scalar(select(ProductImport))
    assert (record.status, record.plan) == ("failed", [])
    assert db.session.scalar(select(func.count()).select_from(ProductImportUpload)) == 0
    html = staff_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "could not be read to the end: Line 3: not readable as CSV" in html
    assert "Nothing was saved" in html and "Apply these changes" not in html


def test_an_unreadable_file_is_refused_at_once(staff_client, db):
    resp = upload(staff_client, b"name,price\nLamp,9.99\n")
    assert resp.status_code == 422 and "no &#39;sku&#39; column" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ProductImport)) == 0


def test_a_big_upload_is_planned_by_the_job_with_its_progress(staff_client, db):
    """While the job has not run, the page shows a progress bar of the rows read (the
    estimate from the file) and the progress URL says the import is busy; once the job ran,
    the preview is there and the stored file is gone."""
    from tests.jobhelpers import hand_overs_lost

    rows = export_csv_rows()
    by_sku(rows)["P1"]["price"] = "80.00"
    with hand_overs_lost():
        resp = upload(staff_client, csv_bytes(rows))
    record = db.session.scalar(select(ProductImport))
    assert (record.status, record.total, record.processed) == ("planning", 4, 0)
    assert db.session.get(ProductImportUpload, record.id).data == csv_bytes(rows)
    html = staff_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Reading the file:" in html and '<progress id="import-progress-bar"' in html
    assert "/static/js/import_progress.js" in html and "Apply these changes" not in html
    progress = staff_client.get(f"/admin/products/imports/{record.id}/progress").get_json()
    assert progress == {"status": "planning", "processed": 0, "total": 4, "finished": False}

    from shop.catalog.sheets.planning import run_preview

    assert run_preview(record.id, "USD") == "previewed"
    assert run_preview(record.id, "USD") == "skipped"  # a retried job changes nothing
    db.session.expire_all()
    record = db.session.get(ProductImport, record.id)
    assert (record.status, record.counts["update"]) == ("previewed", 1)
    assert db.session.scalar(select(func.count()).select_from(ProductImportUpload)) == 0
    progress = staff_client.get(f"/admin/products/imports/{record.id}/progress").get_json()
    assert progress["finished"] is True
    assert "Apply these changes" in staff_client.get(resp.headers["Location"]).get_data(as_text=True)


def test_upload_needs_the_csrf_token(app_factory, staff, db):
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    sign_in(client, staff)
    rows = export_csv_rows()
    resp = upload(client, csv_bytes(rows))
    assert resp.status_code == 400 and "CSRF token is missing" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ProductImport)) == 0
    html = client.get("/admin/products/import").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    assert upload(client, csv_bytes(rows), csrf_token=token).status_code == 303
