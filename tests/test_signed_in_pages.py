"""Catalog pages for signed-in customers come from a shell cached per kind of visitor, with
each visitor's parts (form token, cart count, account links) filled in per request: nobody
ever sees another visitor's parts, the cart count is right at once after every change, the
served token works, and stock and prices stay as fresh as on the public pages.

Under ``TEST_REDIS_URL`` the pages are read through a second app ("another worker") that
shares only the database and Redis with the app that changes things.
"""

from __future__ import annotations

import re

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import select

from shop.auth.models import User
from shop.extensions import cache
from tests.factories import GB_ADDRESS, PASSWORD, bearer_headers, make_category, make_product, make_user

PAGES = ("/", "/products", "/c/laptops", "/p/thin-laptop")


@pytest.fixture
def catalog(db):
    """A category with two products (``thin-laptop`` and ``thick-laptop``), committed."""
    laptops = make_category("Laptops", slug="laptops")
    thin = make_product(name="Thin Laptop", slug="thin-laptop", stock=5, category=laptops, price_cents=1000)
    thick = make_product(name="Thick Laptop", slug="thick-laptop", stock=9, category=laptops)
    db.session.commit()
    return {"thin": thin, "thick": thick}


@pytest.fixture
def worker(app, app_factory, redis_url):
    """Builds test clients of a second app on the same database and cache (the same app
    without Redis, where the cache is each app's memory), CSRF checks on."""
    other = app_factory(WTF_CSRF_ENABLED=True) if redis_url else None
    if other is None:
        app.config["WTF_CSRF_ENABLED"] = True
    return other or app


class _Browser(FlaskClient):
    """A test client whose requests never see the form token of another client's request.

    Without Redis the pages are read through the test's own app, whose app context (and
    so ``g``, where Flask-WTF keeps the request's token) every request shares.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            g.pop("csrf_token", None)
        return super().open(*args, **kwargs)


def _browser(worker) -> FlaskClient:
    return _Browser(worker, worker.response_class, use_cookies=True)


def _meta_token(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]*)"', html).group(1)


def _form_tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]*)"', html))


def _badge(html: str) -> tuple[bool, int]:
    """The cart badge: ``(shown, count)``."""
    match = re.search(r'class="badge rounded-pill cart-count( d-none)?">(\d+)<', html)
    return match.group(1) is None, int(match.group(2))


def _sign_in(worker, email: str):
    """A client of ``worker`` signed in through the login form (with its token)."""
    client = _browser(worker)
    token = _meta_token(client.get("/auth/login").get_data(as_text=True))
    resp = client.post("/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code in (302, 303)
    return client


def _add(client, sku: str, quantity: int, page: str = "/p/thin-laptop"):
    """Add to the cart with the token served on ``page``; returns the response."""
    html = client.get(page).get_data(as_text=True)
    (token,) = _form_tokens(html) - {""}
    return client.post("/cart/add", data={"sku": sku, "quantity": str(quantity), "csrf_token": token})


@pytest.mark.parametrize("first", ["ada", "bob"])
def test_two_customers_never_see_each_others_parts(app, db, catalog, worker, first):
    make_user("ada@example.com", name="Ada Unique-Name")
    make_user("bob@example.com", name="Bob Other-Name")
    make_user("sam@example.com", name="Sam Staff-Name", role="staff")
    db.session.commit()
    clients = {who: _sign_in(worker, f"{who}@example.com") for who in ("ada", "bob", "sam")}
    assert _add(clients["ada"], catalog["thin"].sku, 2).status_code == 303
    assert _add(clients["sam"], catalog["thick"].sku, 1).status_code == 303
    for client in clients.values():
        client.get("/cart")  # shows the flashed "Added ..." message, so pages are shells again
    cache.clear()  # the shells are built by whoever comes first
    order = [first, "bob" if first == "ada" else "ada", "sam"]

    for page in PAGES:
        seen = {}
        for who in order:
            resp = clients[who].get(page)
            assert resp.status_code == 200
            assert resp.headers["Cache-Control"] == "private, no-store"
            seen[who] = resp.get_data(as_text=True)
        tokens = {who: _meta_token(html) for who, html in seen.items()}
        assert len(set(tokens.values())) == 3 and "" not in tokens.values()
        for who, html in seen.items():
            assert "<!--shop:" not in html  # every mark filled in
            assert _form_tokens(html) <= {tokens[who]}  # the logout form (and add to cart)
            assert ("/admin/" in html) is (who == "sam")
            assert 'action="/auth/logout"' in html and "/auth/register" not in html
            for other in ("Ada Unique-Name", "Bob Other-Name", "Sam Staff-Name"):
                assert other not in html
        assert _badge(seen["ada"]) == (True, 2)
        assert _badge(seen["bob"]) == (False, 0)
        assert _badge(seen["sam"]) == (True, 1)
    # A guest with a cart (a session, no login) gets the guest's links and their own count.
    guest = _browser(worker)
    assert guest.post("/cart/add", data={"sku": catalog["thick"].sku, "quantity": "3"}).status_code == 303
    guest.get("/cart")
    html = guest.get("/p/thin-laptop").get_data(as_text=True)
    assert _badge(html) == (True, 3) and "/auth/login" in html and "/auth/logout" not in html
    assert _meta_token(html) not in ("", *tokens.values())
    # The anonymous page is still the public one: no token, no account links.
    public = _browser(worker).get("/p/thin-laptop")
    html = public.get_data(as_text=True)
    assert public.headers["Cache-Control"] == "public, no-cache"
    assert _meta_token(html) == "" and "/auth/logout" not in html and _badge(html) == (False, 0)


def test_cart_count_is_right_at_once_after_add_remove_and_checkout(app, client, db, catalog, worker):
    user = make_user("cart@example.com")
    db.session.commit()
    headers = bearer_headers(user, scopes=["orders"])
    browser = _sign_in(worker, "cart@example.com")
    assert _badge(browser.get("/products").get_data(as_text=True)) == (False, 0)

    assert _add(browser, catalog["thin"].sku, 2).status_code == 303
    browser.get("/cart")  # the flashed message
    for page in PAGES:
        assert _badge(browser.get(page).get_data(as_text=True)) == (True, 2)

    # Changes made elsewhere (the API, another browser) show on the next page too.
    resp = client.post(
        "/api/v1/cart/items", json={"sku": catalog["thick"].sku, "quantity": 3}, headers=headers
    )
    assert resp.status_code in (200, 201)
    assert _badge(browser.get("/").get_data(as_text=True)) == (True, 5)
    cart = client.get("/api/v1/cart", headers=headers).get_json()["data"]
    item_id = next(line["id"] for line in cart["items"] if line["sku"] == catalog["thick"].sku)
    assert (
        client.patch(f"/api/v1/cart/items/{item_id}", json={"quantity": 1}, headers=headers).status_code
        == 200
    )
    assert _badge(browser.get("/").get_data(as_text=True)) == (True, 3)
    assert client.delete(f"/api/v1/cart/items/{item_id}", headers=headers).status_code in (200, 204)
    assert _badge(browser.get("/c/laptops").get_data(as_text=True)) == (True, 2)

    order = {"shipping_address": GB_ADDRESS, "payment_provider": "manual"}
    assert client.post("/api/v1/orders", json=order, headers=headers).status_code == 201
    assert _badge(browser.get("/c/laptops").get_data(as_text=True)) == (False, 0)
    assert _badge(browser.get("/p/thin-laptop").get_data(as_text=True)) == (False, 0)


def test_the_served_form_token_is_accepted_and_a_forged_one_refused(app, db, catalog, worker):
    make_user("token@example.com")
    db.session.commit()
    browser = _sign_in(worker, "token@example.com")
    browser.get("/p/thin-laptop")  # the shell is cached now; this page is filled from it
    html = browser.get("/p/thin-laptop").get_data(as_text=True)
    (token,) = _form_tokens(html)
    assert token == _meta_token(html) and token

    forged = browser.post("/cart/add", data={"sku": catalog["thin"].sku, "quantity": "1", "csrf_token": "x"})
    assert forged.status_code == 400
    resp = browser.post("/cart/add", data={"sku": catalog["thin"].sku, "quantity": "1", "csrf_token": token})
    assert resp.status_code == 303
    assert "Added 1" in browser.get("/p/thin-laptop").get_data(as_text=True)  # the flashed message
    assert _badge(browser.get("/p/thin-laptop").get_data(as_text=True)) == (True, 1)
    # The logout form on a filled page works with the same token.
    resp = browser.post(
        "/auth/logout", data={"csrf_token": _meta_token(browser.get("/").get_data(as_text=True))}
    )
    assert resp.status_code in (302, 303)
    assert "/auth/logout" not in browser.get("/").get_data(as_text=True)


def test_signed_in_pages_show_sales_and_price_changes_at_once(app, client, db, catalog, worker):
    buyer = make_user()
    make_user("fresh@example.com")
    db.session.commit()
    headers = bearer_headers(buyer, scopes=["orders"])
    browser = _sign_in(worker, "fresh@example.com")
    before = {page: browser.get(page).get_data(as_text=True) for page in PAGES}
    assert "Only 5 left" in before["/p/thin-laptop"] and "Only 5 left" in before["/c/laptops"]

    client.post("/api/v1/cart/items", json={"sku": catalog["thin"].sku, "quantity": 2}, headers=headers)
    order = {"shipping_address": GB_ADDRESS, "payment_provider": "manual"}
    assert client.post("/api/v1/orders", json=order, headers=headers).status_code == 201
    for page in ("/p/thin-laptop", "/c/laptops", "/products"):
        html = browser.get(page).get_data(as_text=True)
        assert "Only 3 left" in html and "Only 5 left" not in html

    product = db.session.get(type(catalog["thin"]), catalog["thin"].id)
    product.price_cents = 2500
    db.session.commit()
    assert "$25.00" in browser.get("/p/thin-laptop").get_data(as_text=True)


def test_an_unknown_product_is_a_plain_404_page_for_a_customer(app, db, catalog, worker):
    make_user("lost@example.com")
    db.session.commit()
    browser = _sign_in(worker, "lost@example.com")
    resp = browser.get("/p/no-such-laptop")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404 and "<!--shop:" not in html
    assert _meta_token(html) and 'action="/auth/logout"' in html
    assert "<!--shop:" not in browser.get("/p/thin-laptop").get_data(as_text=True)


def test_role_changes_logout_and_disabling_show_on_the_next_page(app, db, catalog, worker):
    make_user("role@example.com")
    db.session.commit()
    browser = _sign_in(worker, "role@example.com")
    copy = _browser(worker)
    copy.set_cookie("session", browser.get_cookie("session").value)
    assert "/admin/" not in browser.get("/").get_data(as_text=True)

    user = db.session.scalar(select(User).where(User.email == "role@example.com"))
    user.role = "staff"
    db.session.commit()
    assert "/admin/" in browser.get("/").get_data(as_text=True)

    user.is_active_account = False
    db.session.commit()
    html = copy.get("/").get_data(as_text=True)
    assert "/auth/logout" not in html and "/auth/login" in html
    user.is_active_account = True
    db.session.commit()

    token = _meta_token(browser.get("/").get_data(as_text=True))
    assert browser.post("/auth/logout", data={"csrf_token": token}).status_code in (302, 303)
    # A copy of the logged-out session cookie no longer signs anyone in.
    assert "/auth/logout" not in copy.get("/").get_data(as_text=True)
    assert copy.get("/account").status_code == 302


def test_the_account_hint_in_the_session_never_shows_another_accounts_count(app, db, catalog, worker):
    ada = make_user("ada@example.com")
    bob = make_user("bob@example.com")
    db.session.commit()
    ada_id, bob_id = ada.id, bob.id
    ada_browser, bob_browser = _sign_in(worker, "ada@example.com"), _sign_in(worker, "bob@example.com")
    assert _add(bob_browser, catalog["thin"].sku, 4).status_code == 303
    bob_browser.get("/cart")
    assert _badge(bob_browser.get("/").get_data(as_text=True)) == (True, 4)  # bob's count cached

    with ada_browser.session_transaction() as session:
        assert session["account_hint"] == ada_id
        session["account_hint"] = bob_id  # a wrong hint (the login says who it is)
    assert _badge(ada_browser.get("/").get_data(as_text=True)) == (False, 0)
    with ada_browser.session_transaction() as session:
        del session["account_hint"]  # a session from before the hint
    assert _add(ada_browser, catalog["thick"].sku, 1).status_code == 303
    ada_browser.get("/cart")
    assert _badge(ada_browser.get("/").get_data(as_text=True)) == (True, 1)
