"""The application factory and its configurations."""

import pytest

from config import ProductionConfig
from shop import create_app


def test_testing_config_is_applied(app):
    assert app.testing
    assert app.config["ENV_NAME"] == "testing"


def test_production_refuses_default_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/x")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_production_refuses_missing_database(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="DATABASE_URL"):
        create_app(ProductionConfig)


def test_healthz_and_readyz_report_services(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    body = client.get("/readyz").get_json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "cache": "ok", "rate_limits": "ok"}


def test_api_404_is_problem_json(client):
    resp = client.get("/api/v1/no-such-thing")
    assert resp.status_code == 404
    assert resp.headers["Content-Type"] == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == 404 and body["title"] == "Not Found"


def test_html_404_is_a_page(client):
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    assert b"<html" in resp.data and b"404" in resp.data


def test_security_headers_on_every_response(client):
    resp = client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_proxy_fix_uses_forwarded_client_address(app_factory):
    from flask import request

    app = app_factory(PROXY_FIX_X_FOR=1)

    @app.get("/_whoami")
    def _whoami():
        return {"addr": request.remote_addr, "scheme": request.scheme}

    body = (
        app.test_client()
        .get("/_whoami", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
        .get_json()
    )
    assert body == {"addr": "203.0.113.7", "scheme": "https"}


def test_factory_registers_every_shop_command_on_a_group_of_its_own(app, app_factory):
    group = app.cli.commands["shop"]
    assert sorted(group.commands) == [
        "check-stock",
        "create-admin",
        "eval-search",
        "expire-unpaid",
        "export-products",
        "fetch-images",
        "import-catalog",
        "import-products",
        "make-sample",
        "purge-carts",
        "purge-idempotency-keys",
        "purge-logins",
        "reindex",
        "worker",
    ]
    assert app_factory().cli.commands["shop"] is not group
