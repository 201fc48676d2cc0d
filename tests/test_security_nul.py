"""NUL characters in input are refused up front, never a database error."""

from shop.auth.services import create_api_token
from shop.catalog.models import Product
from tests.factories import make_category, make_product, make_user


def test_nul_in_json_field_is_422_with_the_field(app, db, client):
    staff = make_user(role="staff")
    make_category(name="Laptops", slug="laptops")
    product = make_product(slug="nul-target", price_cents=1000)
    _, secret = create_api_token(staff)
    db.session.commit()
    resp = client.patch(
        "/api/v1/products/nul-target",
        json={"category": "lap\u0000tops", "name": "ok"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert resp.status_code == 422
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.get_json()["errors"] == {"category": ["May not contain NUL characters."]}
    db.session.expire_all()
    assert db.session.get(Product, product.id).name != "ok"


def test_nul_in_nested_json_is_refused(client):
    resp = client.post(
        "/api/v1/auth/register", json={"email": "a@example.com", "password": "x\u0000yyyyyyyyy"}
    )
    assert resp.status_code == 422
    assert "password" in resp.get_json()["errors"]


def test_nul_is_dropped_from_query_strings(client):
    make_product(name="Acme thing", brand="Acme", slug="acme-thing")
    _db_commit()
    resp = client.get("/api/v1/products?brand=Ac%00me")
    assert resp.status_code == 200
    assert [p["slug"] for p in resp.get_json()["data"]] == ["acme-thing"]


def test_nul_in_a_page_form_is_400(client):
    resp = client.post("/auth/login", data={"email": "a\x00@example.com", "password": "whatever1"})
    assert resp.status_code == 400


def _db_commit():
    from shop.extensions import db

    db.session.commit()
