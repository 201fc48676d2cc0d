"""Catalog JSON API: envelopes, filters, sort, pagination, staff PATCH and its guards."""

from __future__ import annotations

from sqlalchemy import select

from shop.auth.services import create_api_token
from shop.catalog.models import Product, StockMovement
from shop.catalog.stock import ledger_mismatches
from tests.factories import make_category, make_product, make_user


def _bearer(db, role: str) -> dict:
    user = make_user(role=role)
    _, secret = create_api_token(user)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _setup(db):
    top = make_category("Computers", slug="computers")
    laptops = make_category("Laptops", parent=top, slug="laptops")
    desktops = make_category("Desktops", parent=top, slug="desktops")
    make_product(
        name="Alpha", slug="alpha", sku="A1", brand="HP", price_cents=3000, category=laptops, stock=7
    )
    make_product(name="Bravo", slug="bravo", sku="B1", brand="DELL", price_cents=1000, category=desktops)
    make_product(name="Charlie", slug="charlie", sku="C1", brand="HP", price_cents=2000)
    make_product(name="Zulu archived", slug="zulu", sku="Z1", status="archived", category=laptops)
    db.session.commit()


def test_categories_tree(client, db):
    _setup(db)
    body = client.get("/api/v1/categories").get_json()
    assert body["data"] == [
        {
            "name": "Computers",
            "slug": "computers",
            "full_name": "Computers",
            "product_count": 2,
            "children": [
                {
                    "name": "Desktops",
                    "slug": "desktops",
                    "full_name": "Computers > Desktops",
                    "product_count": 1,
                },
                {
                    "name": "Laptops",
                    "slug": "laptops",
                    "full_name": "Computers > Laptops",
                    "product_count": 1,
                },
            ],
        }
    ]


def test_products_envelope_sort_and_pagination_links(client, db):
    _setup(db)
    resp = client.get("/api/v1/products?sort=price_asc&per_page=2")
    body = resp.get_json()
    assert resp.status_code == 200
    assert [p["sku"] for p in body["data"]] == ["B1", "C1"]
    assert body["meta"] == {"page": 1, "per_page": 2, "total": 3, "pages": 2}
    assert body["links"]["prev"] is None
    assert "page=2" in body["links"]["next"] and "sort=price_asc" in body["links"]["next"]
    first = body["data"][0]
    assert first["price_cents"] == 1000 and first["currency"] == "USD" and first["in_stock"] is True
    assert first["category"] == {"slug": "desktops", "name": "Desktops", "full_name": "Computers > Desktops"}
    page2 = client.get(body["links"]["next"]).get_json()
    assert [p["sku"] for p in page2["data"]] == ["A1"] and page2["links"]["next"] is None
    desc = client.get("/api/v1/products?sort=price_desc").get_json()
    assert [p["sku"] for p in desc["data"]] == ["A1", "C1", "B1"]


def test_products_filters(client, db):
    _setup(db)
    get = lambda q: [p["sku"] for p in client.get("/api/v1/products?" + q).get_json()["data"]]  # noqa: E731
    assert get("category=computers") == ["A1", "B1"]  # a top category includes its leaves
    assert get("category=laptops") == ["A1"]  # the archived laptop is hidden
    assert get("brand=HP") == ["A1", "C1"]
    assert get("min_price=1500&max_price=2500") == ["C1"]


def test_products_bad_query_is_422_with_field_errors(client, db):
    resp = client.get("/api/v1/products?sort=cheap&page=0&min_price=abc")
    body = resp.get_json()
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert set(body["errors"]) == {"sort", "page", "min_price"}
    resp = client.get("/api/v1/products?min_price=500&max_price=100")
    assert resp.status_code == 422 and "min_price" in resp.get_json()["errors"]
    resp = client.get("/api/v1/products?category=nope")  # a reference to something missing
    assert resp.status_code == 404 and "category" in resp.get_json()["errors"]


def test_product_detail_and_404_for_archived(client, db):
    _setup(db)
    body = client.get("/api/v1/products/alpha").get_json()
    assert body["data"]["sku"] == "A1" and body["data"]["url"] == "/p/alpha"
    assert {"description", "attributes", "model", "ean", "released_at"} <= set(body["data"])
    resp = client.get("/api/v1/products/zulu")
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


def test_patch_requires_staff(client, db):
    _setup(db)
    assert client.patch("/api/v1/products/alpha", json={"price_cents": 1}).status_code == 401
    resp = client.patch("/api/v1/products/alpha", json={"price_cents": 1}, headers=_bearer(db, "customer"))
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    assert db.session.scalar(select(Product.price_cents).where(Product.sku == "A1")) == 3000


def test_patch_by_staff_updates_fields_and_stock_through_the_ledger(client, db):
    _setup(db)
    headers = _bearer(db, "staff")
    resp = client.patch(
        "/api/v1/products/alpha",
        headers=headers,
        json={
            "price_cents": 2495,
            "name": "Alpha 2",
            "stock": 12,
            "expected_stock": 7,
            "category": "desktops",
        },
    )
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["data"]["price_cents"] == 2495 and body["data"]["stock"] == 12
    assert body["data"]["name"] == "Alpha 2" and body["data"]["category"]["slug"] == "desktops"
    assert body["data"]["slug"] == "alpha"
    db.session.expire_all()
    product = db.session.scalar(select(Product).where(Product.sku == "A1"))
    assert (product.price_cents, product.stock, product.category.slug) == (2495, 12, "desktops")
    last = db.session.scalars(
        select(StockMovement).where(StockMovement.product_id == product.id).order_by(StockMovement.id.desc())
    ).first()
    assert (last.delta, last.reason) == (5, "staff_edit")
    assert ledger_mismatches() == []
    # Archive it: shoppers lose it, staff can still edit it.
    assert (
        client.patch("/api/v1/products/alpha", headers=headers, json={"status": "archived"}).status_code
        == 200
    )
    assert client.get("/api/v1/products/alpha").status_code == 404
    assert (
        client.patch("/api/v1/products/alpha", headers=headers, json={"status": "active"}).status_code == 200
    )


def test_patch_stale_stock_is_409_and_changes_nothing(client, db):
    _setup(db)
    resp = client.patch(
        "/api/v1/products/alpha",
        headers=_bearer(db, "staff"),
        json={"stock": 1, "expected_stock": 3, "price_cents": 1},
    )
    body = resp.get_json()
    assert resp.status_code == 409 and body["type"].endswith("stale-write")
    assert "7" in body["detail"]
    db.session.expire_all()
    product = db.session.scalar(select(Product).where(Product.sku == "A1"))
    assert (product.stock, product.price_cents) == (7, 3000)


def test_patch_bad_fields_are_422(client, db):
    _setup(db)
    headers = _bearer(db, "staff")
    cases = [
        ({"price_cents": -1}, "price_cents"),
        ({"price_cents": "12.5"}, "price_cents"),
        ({"stock": 5}, "expected_stock"),
        ({"status": "gone"}, "status"),
        ({"colour": "red"}, "colour"),
        ({}, "_schema"),
    ]
    for payload, field in cases:
        resp = client.patch("/api/v1/products/alpha", headers=headers, json=payload)
        assert resp.status_code == 422, payload
        assert field in resp.get_json()["errors"], (payload, resp.get_json())
    resp = client.patch("/api/v1/products/alpha", headers=headers, json={"category": "nope"})
    assert resp.status_code == 404 and "category" in resp.get_json()["errors"]
    assert client.patch("/api/v1/products/nope", headers=headers, json={"price_cents": 1}).status_code == 404
    assert db.session.scalar(select(Product.price_cents).where(Product.sku == "A1")) == 3000


def test_openapi_documents_the_catalog_schemas(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    params = {p["name"] for p in spec["paths"]["/api/v1/products"]["get"]["parameters"]}
    assert {"category", "brand", "min_price", "max_price", "sort", "page", "per_page"} <= params
    patch = spec["paths"]["/api/v1/products/{slug}"]["patch"]
    assert "requestBody" in patch and "409" in patch["responses"]
