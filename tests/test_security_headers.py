"""Security headers on every response; production cookies, HSTS and secrets."""

from __future__ import annotations

import pytest

from config import ProductionConfig
from shop import create_app


@pytest.mark.parametrize(
    "path", ["/", "/auth/login", "/api/v1/auth/me", "/api/v1/openapi.json", "/no-such-page"]
)
def test_headers_on_pages_api_and_errors(client, path):
    resp = client.get(path)
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in resp.headers  # not in development/testing


def test_production_sends_hsts_and_secure_cookies(monkeypatch, database_url):
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    monkeypatch.setenv("DATABASE_URL", database_url)
    settings = type(
        "Prod",
        (ProductionConfig,),
        {"SQLALCHEMY_DATABASE_URI": database_url, "FORCE_HTTPS": True, "RATELIMIT_ENABLED": False},
    )
    app = create_app(settings)
    client = app.test_client()
    resp = client.get("/auth/login", base_url="https://shop.example")
    assert "max-age=" in resp.headers["Strict-Transport-Security"]
    cookie = resp.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    plain = client.get("/auth/login", base_url="http://shop.example")
    assert plain.status_code in (301, 302) and plain.headers["Location"].startswith("https://")


def test_production_refuses_to_start_without_real_secret(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/x")
    for bad in ("", "dev-only-insecure-secret-key", "short"):
        monkeypatch.setenv("SECRET_KEY", bad)
        with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
            create_app(ProductionConfig)
