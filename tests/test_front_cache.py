"""The front cache (``shop.front_cache``) answers a repeated anonymous request for a public
page without Flask's dispatch, with exactly what Flask would have answered: the same body,
the same headers, 304 and HEAD as Flask does them, and the page as fresh as Flask's own
(stock and price changes show at once). Personal requests, the API and stale entries go
to Flask.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from flask import request, request_started

from shop.extensions import limiter
from shop.front_cache import FrontCache
from tests.factories import PASSWORD, bearer_headers, make_category, make_product, make_user

#: Headers that differ between two answers of the same page by design.
PER_ANSWER = {"Date"}


@contextmanager
def dispatches(app):
    """The paths Flask dispatched while the block ran (a front-cache answer is not one)."""
    seen: list[str] = []

    def count(sender, **extra):  # a signal receiver takes the sender and keyword arguments
        seen.append(request.path)

    request_started.connect(count, app)
    try:
        yield seen
    finally:
        request_started.disconnect(count, app)


def _headers(resp) -> dict[str, str]:
    return {k: v for k, v in resp.headers.items() if k not in PER_ANSWER}


@pytest.fixture
def shelf(app, db):
    """A category with two products; returns ``(category slug, product slugs)``."""
    cat = make_category("Cameras", slug="cameras")
    make_product(name="Alpha Camera", slug="alpha-camera", stock=5, price_cents=10_000, category=cat)
    make_product(name="Beta Camera", slug="beta-camera", stock=7, price_cents=20_000, category=cat)
    db.session.commit()
    return "cameras", ["alpha-camera", "beta-camera"]


def test_the_wsgi_app_is_wrapped_unless_turned_off(app, app_factory):
    assert isinstance(app.wsgi_app, FrontCache)
    off = app_factory(FRONT_CACHE_ENABLED=False)
    assert not isinstance(off.wsgi_app, FrontCache)


@pytest.mark.parametrize("path", ["/c/cameras", "/products", "/p/alpha-camera", "/", "/search?q=camera"])
def test_a_repeated_public_page_skips_flask_and_is_byte_for_byte_flasks_answer(app, client, shelf, path):
    with dispatches(app) as seen:
        first = client.get(path)
        second = client.get(path)
        third = client.get(path)
    assert first.status_code == second.status_code == third.status_code == 200
    assert seen == [path.split("?")[0]]  # only the first reached Flask
    assert second.data == first.data == third.data
    assert _headers(second) == _headers(first)
    assert first.headers["Cache-Control"] == "public, no-cache"
    assert "Content-Security-Policy" in second.headers and "Set-Cookie" not in second.headers
    assert second.headers["Content-Length"] == str(len(first.data))
    assert second.headers["Date"]


def test_conditional_and_head_requests_answer_as_flask_does(app, client, shelf):
    first = client.get("/c/cameras")
    etag = first.headers["ETag"]
    flask_304 = client.get("/c/cameras", headers={"If-None-Match": "W/" + etag})  # weak match
    with dispatches(app) as seen:
        front_304 = client.get("/c/cameras", headers={"If-None-Match": etag})
        other = client.get("/c/cameras", headers={"If-None-Match": '"something-else"'})
        head = client.head("/c/cameras")
    assert seen == []
    assert front_304.status_code == flask_304.status_code == 304
    assert front_304.data == b""
    assert "Content-Type" not in front_304.headers and "Content-Length" not in front_304.headers
    assert front_304.headers["ETag"] == etag
    assert other.status_code == 200 and other.data == first.data
    assert head.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == str(len(first.data))


def test_stock_and_price_changes_and_archiving_show_at_once(app, client, db, shelf):
    staff = make_user(role="staff")
    db.session.commit()
    headers = bearer_headers(staff)
    client.get("/c/cameras")
    before = client.get("/c/cameras").get_data(as_text=True)  # answered from the front
    assert "$100.00" in before

    resp = client.patch(
        "/api/v1/products/alpha-camera", json={"stock": 0, "expected_stock": 5}, headers=headers
    )
    assert resp.status_code == 200, resp.get_json()
    with dispatches(app) as seen:
        after_stock = client.get("/c/cameras").get_data(as_text=True)
    assert seen == ["/c/cameras"]  # the entry went stale: Flask built the page again
    assert "Out of stock" in after_stock and "Out of stock" not in before

    resp = client.patch("/api/v1/products/alpha-camera", json={"price_cents": 12_345}, headers=headers)
    assert resp.status_code == 200
    with dispatches(app) as seen:
        page = client.get("/c/cameras").get_data(as_text=True)
        again = client.get("/c/cameras").get_data(as_text=True)
    assert seen == ["/c/cameras"]
    assert "$123.45" in page and "$100.00" not in page and again == page

    client.get("/p/beta-camera")
    client.get("/p/beta-camera")
    resp = client.patch("/api/v1/products/beta-camera", json={"status": "archived"}, headers=headers)
    assert resp.status_code == 200
    assert client.get("/p/beta-camera").status_code == 404
    assert "Beta Camera" not in client.get("/c/cameras").get_data(as_text=True)


def test_personal_requests_always_reach_flask(app, client, db, shelf):
    user = make_user()
    db.session.commit()
    headers = bearer_headers(user, scopes=["orders"])
    client.get("/c/cameras")
    client.get("/api/v1/products/alpha-camera")
    with dispatches(app) as seen:
        client.get("/c/cameras", headers=headers)
        client.get("/api/v1/products/alpha-camera", headers=headers)
    assert seen == ["/c/cameras", "/api/v1/products/alpha-camera"]

    signed_in = app.test_client()
    login = signed_in.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert login.status_code in (302, 303)
    with dispatches(app) as seen:
        mine = signed_in.get("/c/cameras")
        signed_in.get("/c/cameras")
    assert seen == ["/c/cameras", "/c/cameras"]
    assert mine.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    "path", ["/api/v1/products/alpha-camera", "/api/v1/products?per_page=20", "/api/v1/categories"]
)
def test_catalog_json_is_answered_from_the_front_while_no_limit_counts_it(app, client, shelf, path):
    assert app.config["RATELIMIT_ENABLED"] is False  # the test settings
    with dispatches(app) as seen:
        first = client.get(path)
        second = client.get(path)
    assert seen == [path.split("?")[0]]
    assert second.data == first.data and _headers(second) == _headers(first)
    assert second.headers["ETag"] and second.headers["Content-Type"] == "application/json"


def test_with_rate_limits_on_every_api_request_reaches_flask_and_is_counted(app_factory, db, shelf):
    limited = app_factory(RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per 60 second")
    with limited.app_context():
        limiter.reset()  # an empty limiter storage
    client = limited.test_client()
    with dispatches(limited) as seen:
        codes = [client.get("/api/v1/products/alpha-camera").status_code for _ in range(4)]
        pages = [client.get("/c/cameras").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert seen.count("/api/v1/products/alpha-camera") == 4
    assert pages == [200] * 4 and seen.count("/c/cameras") == 1  # pages carry no limit


def test_a_personal_answer_is_never_learned(app, db, shelf):
    user = make_user()
    db.session.commit()
    signed_in = app.test_client()
    signed_in.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    signed_in.get("/products?sort=price")
    front: FrontCache = app.wsgi_app
    assert not [route for route in front.routes if route[2] == "/products" and route[3] == "sort=price"]
    anonymous = app.test_client()
    with dispatches(app) as seen:
        page = anonymous.get("/products?sort=price")
    assert seen == ["/products"]
    assert page.headers["Cache-Control"] == "public, no-cache" and user.email.encode() not in page.data


def test_the_liveness_probe_is_replayed(app, client):
    first = client.get("/healthz")
    with dispatches(app) as seen:
        second = client.get("/healthz")
    assert seen == []
    assert second.status_code == 200 and second.get_json() == {"status": "ok"}
    assert _headers(second) == _headers(first)


def test_an_emptied_cache_sends_the_page_back_to_flask(app, client, shelf):
    from shop.extensions import cache

    client.get("/products")
    client.get("/products")
    with app.app_context():
        cache.clear()
    with dispatches(app) as seen:
        page = client.get("/products")
    assert seen == ["/products"] and page.status_code == 200
