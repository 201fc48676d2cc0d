"""The open-redirect guard: ``next`` after login only ever points inside the site."""

from __future__ import annotations

import pytest

from shop.auth.redirects import safe_next_url
from tests.factories import PASSWORD, make_user

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
