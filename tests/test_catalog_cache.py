"""Catalog caching: pages and product JSON are cached, and a staff edit shows on the next request.

Runs on real Redis when TEST_REDIS_URL is set (as in CI), else on the in-process cache.
"""

from __future__ import annotations

from sqlalchemy import text

from shop.auth.services import create_api_token
from shop.catalog.editing import update_product
from shop.extensions import cache
from tests.factories import make_category, make_product, make_user


def _staff_headers(db) -> dict:
    _, secret = create_api_token(make_user(role="staff"))
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _sneak_price(db, product_id: int, cents: int) -> None:
    """Change a price with raw SQL, bypassing the invalidation hooks (to observe the cache)."""
    db.session.execute(
        text("UPDATE products SET price_cents = :c WHERE id = :i"), {"c": cents, "i": product_id}
    )
    db.session.commit()


def test_reads_are_served_from_the_cache(app, client, db):
    product = make_product(name="Cached", slug="cached", price_cents=1000)
    db.session.commit()
    assert client.get("/api/v1/products/cached").get_json()["data"]["price_cents"] == 1000
    assert "$10.00" in client.get("/p/cached").get_data(as_text=True)
    assert "$10.00" in client.get("/products").get_data(as_text=True)
    _sneak_price(db, product.id, 2000)
    # Not invalidated (no catalog change went through the app): still the cached copies.
    assert client.get("/api/v1/products/cached").get_json()["data"]["price_cents"] == 1000
    assert "$10.00" in client.get("/p/cached").get_data(as_text=True)
    assert "$10.00" in client.get("/products").get_data(as_text=True)
    if app.config["CACHE_TYPE"] == "RedisCache":
        prefix = app.config["CACHE_KEY_PREFIX"]  # per test process (tests/conftest.py)
        keys = cache.cache._write_client.keys(f"{prefix}catalog:*")
        assert any(k.startswith(f"{prefix}catalog:v".encode()) for k in keys)


def test_api_patch_is_visible_on_the_next_request(client, db):
    make_product(name="Widget", slug="widget", price_cents=1000, stock=4)
    db.session.commit()
    headers = _staff_headers(db)
    assert client.get("/api/v1/products/widget").get_json()["data"]["price_cents"] == 1000
    assert "$10.00" in client.get("/p/widget").get_data(as_text=True)
    listing = client.get("/api/v1/products").get_json()
    assert listing["data"][0]["stock"] == 4
    resp = client.patch(
        "/api/v1/products/widget",
        headers=headers,
        json={"price_cents": 1250, "stock": 2, "expected_stock": 4},
    )
    assert resp.status_code == 200
    assert client.get("/api/v1/products/widget").get_json()["data"]["price_cents"] == 1250
    html = client.get("/p/widget").get_data(as_text=True)
    assert "$12.50" in html and "Only 2 left" in html
    assert client.get("/api/v1/products").get_json()["data"][0]["stock"] == 2
    assert "$12.50" in client.get("/products").get_data(as_text=True)


def test_staff_service_edit_after_commit_invalidates_pages(client, db):
    top = make_category("Computers", slug="computers")
    product = make_product(name="Gadget", slug="gadget", price_cents=1000, category=top)
    db.session.commit()
    assert "Gadget" in client.get("/c/computers").get_data(as_text=True)
    update_product(product.id, {"status": "archived"}, actor_id=None)
    # Before the commit nothing is invalidated...
    db.session.rollback()
    assert client.get("/p/gadget").status_code == 200
    # ...after it, the very next request sees the change.
    update_product(product.id, {"status": "archived"}, actor_id=None)
    db.session.commit()
    assert client.get("/p/gadget").status_code == 404
    assert client.get("/api/v1/products/gadget").status_code == 404
    assert "Gadget" not in client.get("/c/computers").get_data(as_text=True)
