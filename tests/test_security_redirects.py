"""The open-redirect guard: every ``next`` (login, add to cart) only ever points inside the site."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

import shop
from shop.auth.redirects import safe_next_url
from tests.factories import PASSWORD, make_product, make_user

UNSAFE = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "data:text/html,x",
    "evil.example",
    "ftp://evil.example",
    " //evil.example",
    "/\tevil",
    "/\nevil",
    "",
    None,
    "https:/evil.example",
    "/\x00x",
]
SAFE = ["/", "/orders", "/p/some-product?ref=1#top", "/account"]


@pytest.mark.parametrize("target", UNSAFE)
def test_unsafe_targets_are_refused(target):
    assert safe_next_url(target) is None


@pytest.mark.parametrize("target", SAFE)
def test_local_paths_are_kept(target):
    assert safe_next_url(target) == target


@pytest.mark.parametrize(
    "target", ["https://evil.example/x", "//evil.example", "/\\evil.example", "javascript:alert(1)"]
)
def test_login_ignores_outside_next(client, db, target):
    make_user("n@example.com")
    db.session.commit()
    resp = client.post(
        "/auth/login",
        query_string={"next": target},
        data={"email": "n@example.com", "password": PASSWORD, "next": target},
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_login_follows_local_next(client, db):
    make_user("m@example.com")
    db.session.commit()
    page = client.get("/auth/login?next=/account")
    assert b'value="/account"' in page.data  # carried in the form
    resp = client.post(
        "/auth/login?next=/account", data={"email": "m@example.com", "password": PASSWORD, "next": "/account"}
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/account"


# ---- every ``next`` in the app, sent exactly as an attacker would encode it ---------------

#: Raw, URL-encoded ``next`` values: tab and newline (browsers drop them, so ``/\t/x`` is
#: ``//x``), backslashes, scheme-relative and absolute URLs, header injection, and the same
#: encoded twice over.
ENCODED_UNSAFE = [
    "/%09/evil.example",
    "/%0A/x",
    "/%0D%0ALocation:%20https://evil.example",
    "//evil.example",
    "https://evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "%09//evil.example",
    "%20//evil.example",
    "https:%2F%2Fevil.example",
    "javascript:alert(1)",
]


def _assert_stays_on_site(resp) -> None:
    """No 5xx, and any redirect resolves to this site the way a browser would read it."""
    assert resp.status_code < 500, resp.status_code
    location = resp.headers.get("Location")
    if location is None:
        return
    assert not any(ord(ch) < 32 for ch in location) and "\\" not in location, location
    # urlsplit drops tab and newline as browsers do, so "/\t/x" would show as "//x" here.
    assert urlsplit(urljoin("http://localhost/cart", location)).netloc == "localhost", location


def _form(client, path: str, body: str, query: str = ""):
    """POST a hand-encoded form body, so the ``next`` bytes reach the app as written."""
    url = f"{path}?next={query}" if query else path
    return client.post(url, data=body, content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("encoded", ENCODED_UNSAFE)
def test_cart_add_next_never_leaves_the_site_nor_fails(client, db, encoded):
    product = make_product(stock=3)
    db.session.commit()
    ok = _form(client, "/cart/add", f"sku={product.sku}&quantity=1&next={encoded}", query=encoded)
    _assert_stays_on_site(ok)
    assert ok.status_code == 303 and ok.headers["Location"] == "/cart"
    refused = _form(client, "/cart/add", f"sku=NO-SUCH-SKU&quantity=1&next={encoded}", query=encoded)
    _assert_stays_on_site(refused)
    assert refused.status_code == 303 and refused.headers["Location"] == "/cart"
    invalid = _form(client, "/cart/add", f"quantity=0&next={encoded}")
    _assert_stays_on_site(invalid)
    assert invalid.headers["Location"] == "/cart"


def test_nul_in_a_next_form_field_is_refused_and_in_the_query_dropped(client, db):
    make_user("nul@example.com")
    db.session.commit()
    for path in ("/cart/add", "/auth/login"):
        resp = _form(client, path, "sku=X&email=nul%40example.com&next=/%00/evil.example")
        assert resp.status_code == 400 and "Location" not in resp.headers  # no database stores NUL
    assert client.get("/auth/login?next=/%00//evil.example").status_code == 200


def test_cart_add_goes_back_to_a_local_next(client, db):
    resp = _form(client, "/cart/add", "sku=NO-SUCH-SKU&quantity=1&next=/p/some-product%3Fref%3D1")
    assert resp.status_code == 303 and resp.headers["Location"] == "/p/some-product?ref=1"


@pytest.mark.parametrize("encoded", ENCODED_UNSAFE)
def test_login_next_never_leaves_the_site_nor_fails(client, db, encoded):
    make_user("enc@example.com")
    db.session.commit()
    page = client.get(f"/auth/login?next={encoded}")
    assert page.status_code == 200  # the form carries it, escaped; the POST checks it
    wrong = _form(client, "/auth/login", f"email=enc%40example.com&password=wrong&next={encoded}", encoded)
    assert wrong.status_code == 200
    body = f"email=enc%40example.com&password={PASSWORD.replace(' ', '+')}&next={encoded}"
    resp = _form(client, "/auth/login", body, query=encoded)
    _assert_stays_on_site(resp)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_anonymous_visit_sends_a_local_next_to_login_and_back(client, db):
    make_user("back@example.com")
    db.session.commit()
    resp = client.get("/account?tab=tokens")
    location = resp.headers["Location"]
    assert resp.status_code == 302 and location.startswith("/auth/login?next=")
    target = parse_qs(urlsplit(location).query)["next"][0]
    login = client.post(location, data={"email": "back@example.com", "password": PASSWORD, "next": target})
    assert login.status_code == 302 and login.headers["Location"] == "/account?tab=tokens"


def test_every_next_in_the_code_goes_through_safe_next_url():
    """A new view reading ``next`` must use the one guard (``shop.auth.redirects``)."""
    root = Path(shop.__file__).parent
    readers = re.compile(r"""(args|form|values)(\.get\(|\[)\s*["']next["']|\.next\.data""")
    for path in root.rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if readers.search(line) and "safe_next_url(" not in line:
                # The login page only copies ``next`` into its form; the POST checks it.
                assert line.strip() == 'form.next.data = request.args.get("next", "")', f"{path}:{number}"
