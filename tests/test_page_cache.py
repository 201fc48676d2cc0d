"""Cached catalog pages stay fresh per product: a sale, a cancellation or a staff stock edit
changes what every page showing that product says at once, without emptying the cache for
the others; price edits and archiving show on the next request too.

Under ``TEST_REDIS_URL`` the shopper reads go through a second app ("another worker") that
shares only the database and Redis with the app that makes the change.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from shop.cache import catalog_version, stock_stamps
from tests.factories import (
    GB_ADDRESS,
    bearer_headers,
    make_category,
    make_product,
    make_user,
    stock_and_ledger,
)


@pytest.fixture
def shopper(app, app_factory, redis_url):
    """The test client of a second app on the same database and cache (the same app's
    client without Redis, where the cache is each app's memory)."""
    return (app_factory() if redis_url else app).test_client()


def _stock_badge(html: str, name: str) -> str:
    """The stock badge next to ``name`` on a listing page."""
    card = html[html.index(f">{name}</a>") :]
    return re.search(r'stock-state">([^<]+)<', card).group(1)


def _sneak_price(db, product_id: int, cents: int) -> None:
    """Change a price with raw SQL, bypassing every invalidation (to see what is cached)."""
    db.session.execute(
        text("UPDATE products SET price_cents = :c WHERE id = :i"), {"c": cents, "i": product_id}
    )
    db.session.commit()


def _order(client, headers: dict, sku: str, quantity: int) -> dict:
    """Place an API order of ``quantity`` units of ``sku``; returns the order."""
    resp = client.post("/api/v1/cart/items", json={"sku": sku, "quantity": quantity}, headers=headers)
    assert resp.status_code in (200, 201), resp.get_json()
    resp = client.post(
        "/api/v1/orders", json={"shipping_address": GB_ADDRESS, "payment_provider": "manual"}, headers=headers
    )
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["data"]


def _views(shopper, slug: str, category: str) -> dict:
    """What a shopper sees of the product ``slug``: JSON stock, page text, listing and
    category pages."""
    return {
        "json": shopper.get(f"/api/v1/products/{slug}").get_json()["data"],
        "page": shopper.get(f"/p/{slug}").get_data(as_text=True),
        "listing": shopper.get("/products").get_data(as_text=True),
        "category": shopper.get(f"/c/{category}").get_data(as_text=True),
        "list_json": shopper.get("/api/v1/products?per_page=50").get_json()["data"],
    }


def test_a_sale_shows_at_once_and_leaves_other_products_cached(app, client, db, shopper):
    laptops = make_category("Laptops", slug="laptops")
    sold = make_product(name="Sold Laptop", slug="sold-laptop", stock=5, category=laptops)
    other = make_product(
        name="Other Laptop", slug="other-laptop", stock=9, price_cents=1000, category=laptops
    )
    buyer = make_user()
    db.session.commit()
    headers = bearer_headers(buyer, scopes=["orders"])

    before = _views(shopper, "sold-laptop", "laptops")
    assert before["json"]["stock"] == 5 and "Only 5 left" in before["page"]
    assert _stock_badge(before["listing"], "Sold Laptop") == "Only 5 left"
    assert "$10.00" in shopper.get("/p/other-laptop").get_data(as_text=True)  # cached now
    version = catalog_version()
    # The other product's price changes behind the cache's back: while its page stays
    # cached, shoppers keep seeing the cached $10.00.
    _sneak_price(db, other.id, 2000)

    _order(client, headers, sold.sku, 2)

    assert catalog_version() == version  # a sale does not empty the cache
    after = _views(shopper, "sold-laptop", "laptops")
    assert after["json"]["stock"] == 3 and after["json"]["in_stock"] is True
    assert "Only 3 left" in after["page"] and "Only 5 left" not in after["page"]
    assert _stock_badge(after["listing"], "Sold Laptop") == "Only 3 left"
    assert _stock_badge(after["category"], "Sold Laptop") == "Only 3 left"
    assert {p["slug"]: p["stock"] for p in after["list_json"]}["sold-laptop"] == 3
    assert "$10.00" in shopper.get("/p/other-laptop").get_data(as_text=True)  # still the cached page
    assert shopper.get("/api/v1/products/other-laptop").get_json()["data"]["stock"] == 9
    assert stock_and_ledger(sold.id) == (3, 3)


def test_selling_out_and_cancelling_show_at_once(app, client, db, shopper):
    laptops = make_category("Laptops", slug="laptops")
    product = make_product(name="Last Laptop", slug="last-laptop", stock=1, category=laptops)
    buyer = make_user()
    db.session.commit()
    headers = bearer_headers(buyer, scopes=["orders"])
    assert "Only 1 left" in shopper.get("/p/last-laptop").get_data(as_text=True)
    assert _stock_badge(shopper.get("/products").get_data(as_text=True), "Last Laptop") == "Only 1 left"

    order = _order(client, headers, product.sku, 1)
    page = shopper.get("/p/last-laptop").get_data(as_text=True)
    assert "Out of stock" in page and 'name="quantity"' not in page
    assert _stock_badge(shopper.get("/c/laptops").get_data(as_text=True), "Last Laptop") == "Out of stock"
    assert shopper.get("/api/v1/products/last-laptop").get_json()["data"]["in_stock"] is False

    resp = client.post(f"/api/v1/orders/{order['number']}/cancel", json={}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    assert "Only 1 left" in shopper.get("/p/last-laptop").get_data(as_text=True)
    assert _stock_badge(shopper.get("/products").get_data(as_text=True), "Last Laptop") == "Only 1 left"
    assert shopper.get("/api/v1/products/last-laptop").get_json()["data"]["stock"] == 1


def test_staff_stock_and_price_edits_and_archive_show_at_once(app, client, db, shopper):
    laptops = make_category("Laptops", slug="laptops")
    make_product(name="Edited Laptop", slug="edited-laptop", stock=4, price_cents=5295, category=laptops)
    staff = make_user(role="staff")
    db.session.commit()
    headers = bearer_headers(staff)
    assert _views(shopper, "edited-laptop", "laptops")["json"]["stock"] == 4  # all cached now

    resp = client.patch(
        "/api/v1/products/edited-laptop", json={"stock": 40, "expected_stock": 4}, headers=headers
    )
    assert resp.status_code == 200, resp.get_json()
    seen = _views(shopper, "edited-laptop", "laptops")
    assert seen["json"]["stock"] == 40 and "In stock" in seen["page"] and "Only 4 left" not in seen["page"]
    assert _stock_badge(seen["listing"], "Edited Laptop") == "In stock"

    resp = client.patch("/api/v1/products/edited-laptop", json={"price_cents": 4750}, headers=headers)
    assert resp.status_code == 200
    seen = _views(shopper, "edited-laptop", "laptops")
    assert seen["json"]["price_cents"] == 4750
    for html in (seen["page"], seen["listing"], seen["category"]):
        assert "$47.50" in html and "$52.95" not in html

    resp = client.patch("/api/v1/products/edited-laptop", json={"status": "archived"}, headers=headers)
    assert resp.status_code == 200
    assert shopper.get("/p/edited-laptop").status_code == 404
    assert shopper.get("/api/v1/products/edited-laptop").status_code == 404
    assert "Edited Laptop" not in shopper.get("/products").get_data(as_text=True)
    assert "Edited Laptop" not in shopper.get("/c/laptops").get_data(as_text=True)
    assert [p["slug"] for p in shopper.get("/api/v1/products").get_json()["data"]] == []


def test_a_refused_sale_changes_no_stamp(app, client, db):
    product = make_product(stock=1)
    buyer = make_user()
    db.session.commit()
    headers = bearer_headers(buyer, scopes=["orders"])
    with app.test_request_context():
        before = stock_stamps([product.id])
    client.post("/api/v1/cart/items", json={"sku": product.sku, "quantity": 1}, headers=headers)
    # Someone else bought the last unit (raw SQL: no stamp change of its own).
    db.session.execute(text("UPDATE products SET stock = 0 WHERE id = :i"), {"i": product.id})
    db.session.commit()
    resp = client.post(
        "/api/v1/orders", json={"shipping_address": GB_ADDRESS, "payment_provider": "manual"}, headers=headers
    )
    assert resp.status_code == 409
    with app.test_request_context():
        assert stock_stamps([product.id]) == before  # rolled back: nothing to invalidate


def test_stamps_change_only_for_the_products_whose_stock_changed(app, client, db):
    sold, kept = make_product(stock=3), make_product(stock=3)
    buyer = make_user()
    db.session.commit()
    headers = bearer_headers(buyer, scopes=["orders"])
    with app.test_request_context():
        before = stock_stamps([sold.id, kept.id])
    assert set(before) == {sold.id, kept.id} and all(before.values())
    _order(client, headers, sold.sku, 1)
    with app.test_request_context():
        after = stock_stamps([sold.id, kept.id])
    assert after[kept.id] == before[kept.id]
    assert after[sold.id] != before[sold.id]
