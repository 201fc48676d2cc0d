"""Low stock is one threshold: the shop's pages, the staff list's filter and the dashboard agree."""

from __future__ import annotations

import re

from sqlalchemy import select

from shop.catalog.models import LOW_STOCK_THRESHOLD, Product, is_low_stock
from tests.factories import make_product, make_user

LEFT = re.compile(r"Only \d+ left")


def test_threshold_bounds_in_python_and_sql(db):
    assert LOW_STOCK_THRESHOLD == 5
    assert [n for n in range(8) if is_low_stock(n)] == [1, 2, 3, 4, 5]
    for n in (0, 1, 5, 6):
        make_product(sku=f"S{n}", stock=n)
    db.session.commit()
    low = db.session.scalars(select(Product.sku).where(Product.low_stock).order_by(Product.sku))
    assert list(low) == ["S1", "S5"]


def test_five_left_is_low_stock_and_six_is_not_on_every_page(client, db, auth):
    make_product(name="Five left", sku="FIVE-LEFT", slug="five-left", stock=5)
    make_product(name="Six left", sku="SIX-LEFT", slug="six-left", stock=6)
    make_user("staff@example.com", role="staff")
    db.session.commit()

    assert "Only 5 left" in client.get("/p/five-left").get_data(as_text=True)
    six = client.get("/p/six-left").get_data(as_text=True)
    assert "In stock" in six and not LEFT.search(six)
    listing = client.get("/products").get_data(as_text=True)
    assert LEFT.findall(listing) == ["Only 5 left"]

    auth.login("staff@example.com")
    low = client.get("/admin/products?stock=low").get_data(as_text=True)
    assert "FIVE-LEFT" in low and "SIX-LEFT" not in low
    assert "Low (1–5)" in low
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert re.search(r'data-count="Low stock \(1–5\)">1<', dashboard)
