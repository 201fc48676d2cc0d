"""CSRF: every form needs the token; cookie-authenticated API writes need X-CSRFToken;
bearer calls do not."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from shop.auth import services
from shop.auth.models import ApiToken, User
from tests.factories import PASSWORD, make_user


@pytest.fixture
def csrf_client(app, app_factory):
    """A client of an app with CSRF protection on (as in production)."""
    return app_factory(WTF_CSRF_ENABLED=True).test_client()


def _csrf_token(client, path="/auth/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def _login(client, email):
    token = _csrf_token(client)
    resp = client.post("/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302
    return resp


def test_forms_without_token_are_refused(csrf_client, db):
    make_user("csrf@example.com")
    db.session.commit()
    resp = csrf_client.post("/auth/login", data={"email": "csrf@example.com", "password": PASSWORD})
    assert resp.status_code == 400 and b"CSRF token is missing" in resp.data
    assert csrf_client.get("/account").status_code == 302  # not logged in
    resp = csrf_client.post(
        "/auth/register",
        data={"email": "n@example.com", "password": PASSWORD, "confirm": PASSWORD, "csrf_token": "forged"},
    )
    assert resp.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "n@example.com")) is None


def test_logout_without_token_is_400(csrf_client, db):
    make_user("stay@example.com")
    db.session.commit()
    _login(csrf_client, "stay@example.com")
    assert csrf_client.post("/auth/logout").status_code == 400
    assert csrf_client.get("/account").status_code == 200  # still logged in


def test_form_with_token_works_and_login_renews_token(csrf_client, db):
    make_user("ok@example.com")
    db.session.commit()
    before = _csrf_token(csrf_client)
    _login(csrf_client, "ok@example.com")
    after = _csrf_token(csrf_client, "/account")
    assert before != after  # the session (and its CSRF secret) was renewed
    resp = csrf_client.post("/account/tokens", data={"name": "x", "scopes": ["read"], "csrf_token": after})
    assert resp.status_code == 201


def test_cookie_api_write_needs_header_but_bearer_does_not(csrf_client, db):
    user = make_user("api@example.com")
    victim, _ = services.create_api_token(user, "victim")
    _, secret = services.create_api_token(user, "script")
    db.session.commit()
    _login(csrf_client, "api@example.com")
    # Cookie-authenticated: reads are fine, writes need X-CSRFToken.
    assert csrf_client.get("/api/v1/auth/me").status_code == 200
    refused = csrf_client.delete(f"/api/v1/auth/tokens/{victim.id}")
    assert refused.status_code == 400 and refused.headers["Content-Type"] == "application/problem+json"
    assert "CSRF" in refused.get_json()["detail"]
    db.session.expire_all()
    assert db.session.get(ApiToken, victim.id).revoked_at is None
    token = _csrf_token(csrf_client, "/account")
    ok = csrf_client.delete(f"/api/v1/auth/tokens/{victim.id}", headers={"X-CSRFToken": token})
    assert ok.status_code == 204
    # A bearer call needs no CSRF token (a fresh client has no cookie at all).
    script = csrf_client.application.test_client()
    other, _ = services.create_api_token(user, "other")
    db.session.commit()
    resp = script.delete(f"/api/v1/auth/tokens/{other.id}", headers={"Authorization": f"Bearer {secret}"})
    assert resp.status_code == 204
