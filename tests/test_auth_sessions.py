"""Sessions end when they should: a copied ``session`` or ``remember_token`` cookie stops
working after logout, "sign out everywhere" and a password reset; a reset revokes API
tokens unless kept; every cookie the shop sets carries ``SameSite``."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from config import ProductionConfig
from shop import create_app
from shop.auth import logins, services
from shop.auth.models import ApiToken, LoginSession, User
from shop.dbtypes import utcnow
from shop.mail import clear_outbox, outbox
from tests.factories import PASSWORD, bearer_headers, make_user

NEW_PASSWORD = "a brand new passphrase"
COOKIES = ("session", "remember_token")


def _login(client, email: str, remember: bool = True):
    data = {"email": email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    resp = client.post("/auth/login", data=data)
    assert resp.status_code == 302, resp.data
    return resp


def _copies(client) -> dict[str, str]:
    """The values of the browser's session and remember cookies, as an attacker would copy them."""
    found = {name: client.get_cookie(name) for name in COOKIES}
    assert all(found.values()), f"missing cookies: {found}"
    return {name: cookie.value for name, cookie in found.items()}


def _browser_with(app, name: str, value: str):
    """A fresh browser holding only one copied cookie."""
    client = app.test_client()
    client.set_cookie(name, value)
    return client


def _opens_account(app, name: str, value: str) -> bool:
    resp = _browser_with(app, name, value).get("/account")
    assert resp.status_code in (200, 302), resp.status_code
    return resp.status_code == 200


def _all_copies_open_account(app, copies: dict[str, str]) -> dict[str, bool]:
    return {name: _opens_account(app, name, value) for name, value in copies.items()}


def test_copied_session_and_remember_cookies_stop_working_after_logout(app, client, db, auth):
    user = make_user("copy@example.com")
    db.session.commit()
    _login(client, "copy@example.com")
    copies = _copies(client)
    # Each copy on its own signs in before logout: the test would prove nothing otherwise.
    assert _all_copies_open_account(app, copies) == {"session": True, "remember_token": True}

    resp = auth.logout()
    assert resp.status_code == 302
    assert client.get("/account").status_code == 302
    assert client.get_cookie("remember_token") is None  # the browser was told to drop it
    assert _all_copies_open_account(app, copies) == {"session": False, "remember_token": False}
    assert logins.count_logins(user) == 0


def test_logout_ends_this_browser_only(app, client, db, auth):
    make_user("two@example.com")
    db.session.commit()
    laptop = app.test_client()
    _login(laptop, "two@example.com")
    _login(client, "two@example.com")
    auth.logout()
    assert client.get("/account").status_code == 302
    assert laptop.get("/account").status_code == 200


def test_a_remembered_browser_that_logs_in_again_ends_both_logins_on_logout(app, client, db, auth):
    user = make_user("again@example.com")
    db.session.commit()
    _login(client, "again@example.com")
    first = _copies(client)
    _login(client, "again@example.com", remember=False)  # the new login replaces the old one
    assert _all_copies_open_account(app, first) == {"session": False, "remember_token": False}
    second_session = client.get_cookie("session").value
    auth.logout()
    assert not _opens_account(app, "session", second_session)
    assert logins.count_logins(user) == 0


def test_sign_out_everywhere_ends_every_login_but_keeps_api_tokens(app, client, db):
    user = make_user("every@example.com")
    db.session.commit()
    headers = bearer_headers(user)
    phone = app.test_client()
    _login(phone, "every@example.com")
    _login(client, "every@example.com")
    copies = _copies(phone)
    page = client.get("/account").get_data(as_text=True)
    assert "Signed in on 2 browsers" in page and "Sign out everywhere" in page

    resp = client.post("/account/sign-out-everywhere")
    assert resp.status_code == 302
    assert client.get("/account").status_code == 302
    assert phone.get("/account").status_code == 302
    assert _all_copies_open_account(app, copies) == {"session": False, "remember_token": False}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200  # tokens stay
    assert db.session.scalars(select(LoginSession)).all() == []


def _reset(client, email: str, keep_api_tokens: bool):
    clear_outbox()
    client.post("/auth/reset", data={"email": email})
    link = re.search(r"http://localhost(/auth/reset/\S+)", outbox()[0].get_content()).group(1)
    data = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    if keep_api_tokens:
        data["keep_api_tokens"] = "y"
    page = client.get(link).get_data(as_text=True)
    assert "Keep my API tokens working" in page and 'name="keep_api_tokens"' in page
    assert "checked" not in page.split('name="keep_api_tokens"')[0].rsplit("<input", 1)[1]
    resp = client.post(link, data=data)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/auth/login")
    return resp


@pytest.fixture
def _empty_outbox():
    clear_outbox()
    yield
    clear_outbox()


@pytest.mark.usefixtures("_empty_outbox")
def test_reset_ends_every_login_and_revokes_api_tokens_by_default(app, client, db):
    user = make_user("reset@example.com")
    db.session.commit()
    headers = bearer_headers(user)
    other = app.test_client()
    _login(other, "reset@example.com")
    copies = _copies(other)
    _login(client, "reset@example.com")

    _reset(client, "reset@example.com", keep_api_tokens=False)
    assert client.get("/account").status_code == 302  # this browser too
    assert other.get("/account").status_code == 302
    assert _all_copies_open_account(app, copies) == {"session": False, "remember_token": False}
    resp = client.get("/api/v1/auth/me", headers=headers)
    assert resp.status_code == 401 and resp.mimetype == "application/problem+json"
    db.session.expire_all()
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()
    assert tokens and all(t.revoked_at is not None for t in tokens)


@pytest.mark.usefixtures("_empty_outbox")
def test_reset_keeps_api_tokens_when_asked(app, client, db):
    user = make_user("keep@example.com")
    db.session.commit()
    headers = bearer_headers(user)
    other = app.test_client()
    _login(other, "keep@example.com")
    copies = _copies(other)

    _reset(client, "keep@example.com", keep_api_tokens=True)
    assert _all_copies_open_account(app, copies) == {"session": False, "remember_token": False}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200


def test_set_password_service_ends_logins_and_revokes_or_keeps_tokens(db):
    user = make_user("svc@example.com")
    kept_token, _ = services.create_api_token(user)
    logins.start_login(user)
    db.session.commit()
    services.set_password(user, NEW_PASSWORD, keep_api_tokens=True)
    db.session.commit()
    assert logins.count_logins(user) == 0 and kept_token.revoked_at is None
    logins.start_login(user)
    services.set_password(user, "another fine passphrase")
    db.session.commit()
    assert logins.count_logins(user) == 0 and kept_token.revoked_at is not None


def test_create_admin_on_an_existing_account_revokes_tokens_unless_kept(app, db):
    user = make_user("boss@example.com")
    token, _ = services.create_api_token(user)
    db.session.commit()
    runner = app.test_cli_runner()
    args = ["shop", "create-admin", "--email", "boss@example.com", "--password", NEW_PASSWORD]
    result = runner.invoke(args=[*args, "--keep-api-tokens"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    assert db.session.get(User, user.id).role == "admin"


def test_expired_login_is_refused_and_purged(app, client, db):
    user = make_user("old@example.com")
    db.session.commit()
    _login(client, "old@example.com")
    assert client.get("/account").status_code == 200
    row = db.session.scalar(select(LoginSession).where(LoginSession.user_id == user.id))
    row.created_at = utcnow() - app.config["LOGIN_MAX_AGE"] - timedelta(seconds=1)
    db.session.commit()
    resp = client.get("/account")
    assert resp.status_code == 302
    assert client.get_cookie("remember_token") is None  # a dead remember cookie is dropped
    fresh = make_user("fresh@example.com")
    logins.start_login(fresh)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["shop", "purge-logins"])
    assert result.exit_code == 0 and "Deleted 1 expired logins." in result.output
    assert [r.user_id for r in db.session.scalars(select(LoginSession))] == [fresh.id]


def test_disabled_account_is_signed_out(client, db):
    user = make_user("gone@example.com")
    db.session.commit()
    _login(client, "gone@example.com")
    user.is_active_account = False
    db.session.commit()
    assert client.get("/account").status_code == 302


def test_old_style_or_forged_ids_sign_nobody_in(client, db):
    make_user("forged@example.com")
    db.session.commit()
    for forged in ("", "not-a-login", "x" * 500):
        with client.session_transaction() as sess:
            sess["_user_id"] = forged
        assert client.get("/account").status_code == 302


# ---- cookies in production -----------------------------------------------------------------


@pytest.fixture
def production_app(monkeypatch, database_url, redis_url, app):
    """The app under ProductionConfig (CSRF on, secure cookies) on the suite's database."""
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    monkeypatch.setenv("DATABASE_URL", database_url)
    settings = type(
        "Prod",
        (ProductionConfig,),
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url or "",
            "CACHE_KEY_PREFIX": app.config["CACHE_KEY_PREFIX"],
            "RATELIMIT_ENABLED": False,
            "MAIL_BACKEND": "memory",
        },
    )
    return create_app(settings)


def _csrf(client, path: str) -> str:
    html = client.get(path, base_url="https://shop.example").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _set_cookies(resp) -> dict[str, str]:
    """``{cookie name: its Set-Cookie header}`` of a response."""
    return {header.split("=", 1)[0]: header for header in resp.headers.getlist("Set-Cookie")}


def test_every_cookie_has_samesite_secure_and_httponly_in_production(production_app, db):
    assert production_app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"  # Flask-Login 0.6.3's name
    make_user("prod@example.com")
    db.session.commit()
    client = production_app.test_client()
    base = "https://shop.example"
    seen: dict[str, list[str]] = {}

    def record(resp):
        for header in resp.headers.getlist("Set-Cookie"):
            seen.setdefault(header.split("=", 1)[0], []).append(header)
        return resp

    record(client.get("/auth/login", base_url=base))
    token = _csrf(client, "/auth/login")
    resp = record(
        client.post(
            "/auth/login",
            base_url=base,
            headers={"Referer": f"{base}/auth/login"},  # Flask-WTF checks it over HTTPS
            data={"email": "prod@example.com", "password": PASSWORD, "remember": "y", "csrf_token": token},
        )
    )
    assert resp.status_code == 302 and set(_set_cookies(resp)) == {"session", "remember_token"}
    token = _csrf(client, "/account")
    resp = record(
        client.post(
            "/auth/logout", base_url=base, headers={"Referer": f"{base}/account"}, data={"csrf_token": token}
        )
    )
    assert resp.status_code == 302 and "remember_token" in _set_cookies(resp)  # deleted

    assert set(seen) == {"session", "remember_token"}
    for headers in seen.values():
        for header in headers:
            assert "SameSite=Lax" in header, header
            assert "Secure" in header and "HttpOnly" in header, header
