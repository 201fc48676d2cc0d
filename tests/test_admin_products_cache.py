"""A staff price edit is visible to shoppers on the very next request (cache invalidated on commit).

Under ``TEST_REDIS_URL`` the shopper side runs as a second app ("another worker") that shares
only the database and Redis with the admin app.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shop.cache import cached_catalog, catalog_version
from shop.catalog.models import Product
from shop.catalog.schemas import product_json
from shop.extensions import db as _db
from tests.factories import make_product, make_user
from tests.test_admin_products_pages import edit_data, login_as


def cached_product_json(slug: str) -> dict:
    """Product JSON through the catalog cache, the way shopper pages and the API read it."""

    def produce():
        product = _db.session.scalar(select(Product).where(Product.slug == slug))
        return product_json(product, detail=True)

    return cached_catalog(("test-product", slug), produce)


@pytest.fixture
def worker_b(app, app_factory, redis_url):
    """A second app on the same database and cache (the same app without Redis)."""
    return app_factory() if redis_url else app


def read_on(worker, slug):
    """Read the product's JSON inside a request on ``worker``."""
    with worker.test_request_context():
        return cached_product_json(slug)


def test_price_edit_is_seen_on_next_read_from_another_worker(app, db, client, worker_b, redis_url):
    if redis_url:
        assert app.config["CACHE_TYPE"] == "RedisCache"
    product = make_product(price_cents=5295, slug="cached-thing", stock=8)
    staff = make_user(role="staff")
    db.session.commit()

    assert read_on(worker_b, "cached-thing")["price_cents"] == 5295  # primes the cache
    assert read_on(worker_b, "cached-thing")["price_cents"] == 5295  # served from the cache
    before = catalog_version()

    login_as(client, staff)
    resp = client.post(f"/admin/products/{product.id}/edit", data=edit_data(product, price="47.50"))
    assert resp.status_code == 302
    assert catalog_version() != before
    data = read_on(worker_b, "cached-thing")
    assert data["price_cents"] == 4750 and data["stock"] == 8


def test_refused_edit_does_not_invalidate(app, db, client):
    product = make_product(price_cents=5295, slug="steady")
    staff = make_user(role="staff")
    db.session.commit()
    with app.test_request_context():
        assert cached_product_json("steady")["price_cents"] == 5295
    before = catalog_version()
    login_as(client, staff)
    resp = client.post(
        f"/admin/products/{product.id}/edit", data=edit_data(product, price="1.00", expected_stock="999")
    )
    assert resp.status_code == 409
    assert catalog_version() == before


def test_archive_is_seen_on_next_read(app, db, client, worker_b):
    product = make_product(slug="going-away")
    staff = make_user(role="staff")
    db.session.commit()
    assert read_on(worker_b, "going-away")["status"] == "active"
    login_as(client, staff)
    assert client.post(f"/admin/products/{product.id}/archive", data={"confirm": "yes"}).status_code == 302
    assert read_on(worker_b, "going-away")["status"] == "archived"


def _has_product_api(app) -> bool:
    """True once the catalog API serves single products."""
    return any(r.rule.startswith("/api/v1/products/<") for r in app.url_map.iter_rules())


def test_shopper_page_and_json_show_the_new_price_then_hide_archived(app, db, client, worker_b):
    if not _has_product_api(app):
        pytest.skip("GET /api/v1/products/<slug> is not served yet")
    product = make_product(price_cents=5295, slug="shown-thing", name="Shown Thing")
    staff = make_user(role="staff")
    db.session.commit()
    shopper = worker_b.test_client()
    assert shopper.get("/api/v1/products/shown-thing").get_json()["data"]["price_cents"] == 5295
    assert "$52.95" in shopper.get("/p/shown-thing").get_data(as_text=True)

    login_as(client, staff)
    assert (
        client.post(f"/admin/products/{product.id}/edit", data=edit_data(product, price="47.50")).status_code
        == 302
    )
    assert shopper.get("/api/v1/products/shown-thing").get_json()["data"]["price_cents"] == 4750
    page = shopper.get("/p/shown-thing").get_data(as_text=True)
    assert "$47.50" in page and "$52.95" not in page

    assert client.post(f"/admin/products/{product.id}/archive", data={"confirm": "yes"}).status_code == 302
    assert shopper.get("/api/v1/products/shown-thing").status_code == 404
    assert shopper.get("/p/shown-thing").status_code == 404
