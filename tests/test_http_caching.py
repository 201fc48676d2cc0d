"""HTTP caching: a browsing visitor gets no session cookie; public pages carry an ETag, answer
a matching conditional request with 304 and may be kept by a shared cache; a page with a
cart, a form token or an account in it never may."""

from __future__ import annotations

import re

import pytest

from shop.orders.models import Cart
from tests.factories import bearer_headers, make_category, make_product, make_user, sign_in

PUBLIC_PATHS = ("/", "/products", "/c/laptops", "/p/public-laptop", "/api/v1/products/public-laptop")


@pytest.fixture
def csrf_client(app, app_factory):
    """A client of an app with CSRF protection on (as in production)."""
    return app_factory(WTF_CSRF_ENABLED=True).test_client()


@pytest.fixture
def laptop(db):
    laptops = make_category("Laptops", slug="laptops")
    product = make_product(name="Public Laptop", slug="public-laptop", stock=7, category=laptops)
    db.session.commit()
    return product


def _cookies(resp) -> list[str]:
    return resp.headers.getlist("Set-Cookie")


def test_browsing_sets_no_cookie_and_pages_are_public_with_validators(csrf_client, laptop):
    for path in (*PUBLIC_PATHS, "/search?q=laptop", "/api/v1/products", "/api/v1/categories"):
        resp = csrf_client.get(path)
        assert resp.status_code == 200, path
        assert _cookies(resp) == [], path
        assert resp.headers["Cache-Control"] == "public, no-cache", path
        assert "Cookie" in resp.headers["Vary"], path
        assert resp.headers["ETag"], path
    assert csrf_client.get_cookie("session") is None
    # The product page has its add-to-cart form, without a token (no session to bind it to).
    html = csrf_client.get("/p/public-laptop").get_data(as_text=True)
    assert 'action="/cart/add"' in html
    assert not re.search(r'name="csrf_token" value="[^"]+"', html)
    # A page with a form that needs its token starts a session: never shared.
    login = csrf_client.get("/auth/login")
    assert login.headers["Cache-Control"] == "private, no-store" and _cookies(login)


def test_conditional_get_answers_304_until_the_page_changes(app, client, db, laptop):
    for path in PUBLIC_PATHS:
        first = client.get(path)
        again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304, path
        assert again.data == b"" and again.headers["ETag"] == first.headers["ETag"], path
    etag = client.get("/p/public-laptop").headers["ETag"]
    buyer = make_user()
    db.session.commit()
    headers = bearer_headers(buyer, scopes=["orders"])
    client.post("/api/v1/cart/items", json={"sku": laptop.sku, "quantity": 2}, headers=headers)
    address = {
        "name": "A",
        "line1": "1 High St",
        "city": "London",
        "postal_code": "SW1A 1AA",
        "country": "GB",
    }
    resp = client.post(
        "/api/v1/orders", json={"shipping_address": address, "payment_provider": "manual"}, headers=headers
    )
    assert resp.status_code == 201
    changed = client.get("/p/public-laptop", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "Only 5 left" in changed.get_data(as_text=True)
    assert changed.headers["ETag"] != etag


def test_first_add_to_cart_without_a_session_is_checked_by_origin(csrf_client, db, laptop):
    form = {"sku": laptop.sku, "quantity": "1"}
    resp = csrf_client.post("/cart/add", data=form, headers={"Origin": "https://evil.example"})
    assert resp.status_code == 400
    resp = csrf_client.post("/cart/add", data=form, headers={"Sec-Fetch-Site": "cross-site"})
    assert resp.status_code == 400
    assert db.session.query(Cart).count() == 0
    resp = csrf_client.post(
        "/cart/add", data=form, headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    )
    assert resp.status_code in (302, 303)
    assert csrf_client.get_cookie("session") is not None  # the cart starts the session
    # From now on this visitor has a session: pages are personal and carry the token,
    # and a form without it is refused like any other.
    page = csrf_client.get("/p/public-laptop")
    assert page.headers["Cache-Control"] == "private, no-store" and "ETag" not in page.headers
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    resp = csrf_client.post("/cart/add", data=form, headers={"Origin": "http://localhost"})
    assert resp.status_code == 400
    resp = csrf_client.post("/cart/add", data={**form, "csrf_token": token})
    assert resp.status_code in (302, 303)
    cart = db.session.query(Cart).one()
    assert sum(item.quantity for item in cart.items) == 2


def test_pages_with_an_account_or_a_token_are_never_shared(client, db, laptop):
    user = make_user()
    db.session.commit()
    api = client.get("/api/v1/products/public-laptop", headers=bearer_headers(user))
    assert api.status_code == 200 and api.headers["Cache-Control"] == "private, no-store"
    sign_in(client, user)
    for path in PUBLIC_PATHS:
        resp = client.get(path)
        assert resp.headers["Cache-Control"] == "private, no-store", path
        assert "ETag" not in resp.headers, path
    resp = client.get("/p/public-laptop", headers={"If-None-Match": "*"})
    assert resp.status_code == 200
