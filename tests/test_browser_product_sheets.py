"""In a real browser (Debian's Chromium driven by Playwright), phone-sized: staff upload an
edited copy of the product export, see the preview (what would change, what failed), confirm,
and see the result; the catalog and the stock ledger show exactly the edits.

Jobs run at once in the tests, so the progress bar is seen finished, not moving.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shop.catalog.models import Product
from tests.browsers import CHROMIUM, MARKS, log_in, submit
from tests.factories import make_product, make_user, stock_and_ledger
from tests.sheethelpers import by_sku, csv_bytes, export_csv_rows

pytestmark = MARKS


@pytest.fixture
def page():
    """A page of a headless Chromium, phone-sized."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        yield browser.new_page(viewport={"width": 390, "height": 844})
        browser.close()


def test_upload_preview_confirm_result(app, db, live_url, page, tmp_path):
    staff = make_user(email="stock@example.com", role="staff")
    kept, priced, stocked = (make_product(price_cents=1_000, stock=5) for _ in range(3))
    db.session.commit()
    rows = by_sku(export_csv_rows())
    rows[priced.sku]["price"] = "12.50"
    rows[stocked.sku]["stock"] = "9"
    broken = dict(rows[kept.sku], sku="NEW-1", price="lots")
    upload = tmp_path / "products.csv"
    upload.write_bytes(csv_bytes([*rows.values(), broken]))

    log_in(page, live_url, staff.email)
    page.goto(f"{live_url}/admin/products/import")
    page.set_input_files("input[type=file]", str(upload))
    page.locator("form[enctype='multipart/form-data'] [type=submit]").click()
    page.wait_for_url("**/admin/products/imports/*")
    counts = {k: page.inner_text(f"[data-count={k}]") for k in ("create", "update", "unchanged", "failed")}
    assert counts == {"create": "0", "update": "2", "unchanged": "1", "failed": "1"}, counts
    assert "price" in page.inner_text("main").lower() and "lots" in page.inner_text("main")
    db.session.expire_all()
    assert db.session.get(Product, priced.id).price_cents == 1_000  # nothing written yet

    submit(page, page.locator("form[action$='/confirm'] [type=submit]"))
    page.screenshot(path=str(tmp_path / "applied.png"), full_page=True)
    assert page.inner_text("#import-status") == "applied"
    assert "Applied: 0 created, 2 updated, 1 stock movement recorded" in page.inner_text("main")
    db.session.expire_all()
    assert db.session.get(Product, priced.id).price_cents == 1_250
    assert stock_and_ledger(stocked.id) == (9, 9)
    assert db.session.scalar(select(Product).where(Product.sku == "NEW-1")) is None
