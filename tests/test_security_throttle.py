"""Rate limits: failed logins per account and per IP, the whole API per IP and per token.

These run with ``RATELIMIT_ENABLED=True`` on the suite's Redis (``TEST_REDIS_URL``), or on
Flask-Limiter's in-memory storage when no Redis is configured.
"""

from __future__ import annotations

import time

import pytest

from shop.auth import services
from shop.auth.throttle import nothing_to_count
from shop.extensions import limiter
from tests.factories import PASSWORD, make_user

WINDOW = 2  # seconds


@pytest.fixture
def limited(app, app_factory):
    """Build an app with rate limits on and an empty limiter storage."""

    def _make(**overrides):
        settings = {
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT": f"3 per {WINDOW} second",
            "LOGIN_IP_RATE_LIMIT": "100 per minute",
            "API_RATE_LIMIT": "1000 per minute",
        }
        settings.update(overrides)
        limited_app = app_factory(**settings)
        with limited_app.app_context():
            limiter.reset()
        return limited_app

    return _make


def _login(client, email, password, ip="10.0.0.1"):
    return client.post(
        "/auth/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip}
    )


def test_failed_logins_throttled_per_account_then_owner_gets_in(limited, db):
    make_user("victim@example.com")
    db.session.commit()
    client = limited().test_client()
    for _ in range(3):
        assert _login(client, "victim@example.com", "guess guess guess").status_code == 200
    blocked = _login(
        client, "Victim@Example.com", "guess guess guess", ip="10.0.0.2"
    )  # other IP, same account
    assert blocked.status_code == 429
    assert 0 < int(blocked.headers["Retry-After"]) <= WINDOW
    # During the window even the right password is refused ...
    assert _login(client, "victim@example.com", PASSWORD, ip="10.0.0.3").status_code == 429
    # ... and after it the real owner logs in.
    time.sleep(WINDOW + 0.2)
    ok = _login(client, "victim@example.com", PASSWORD, ip="10.0.0.3")
    assert ok.status_code == 302
    assert client.get("/account").status_code == 200


def test_successful_logins_do_not_count(limited, db):
    make_user("often@example.com")
    db.session.commit()
    client = limited().test_client()
    for _ in range(6):
        assert _login(client, "often@example.com", PASSWORD).status_code == 302
        client.post("/auth/logout")


def test_failed_logins_throttled_per_ip_across_accounts(limited, db):
    client = limited(
        LOGIN_RATE_LIMIT="100 per minute", LOGIN_IP_RATE_LIMIT=f"3 per {WINDOW} second"
    ).test_client()
    for n in range(3):
        assert _login(client, f"probe{n}@example.com", "guess guess guess").status_code == 200
    assert _login(client, "probe9@example.com", "guess guess guess").status_code == 429
    assert _login(client, "probe9@example.com", "guess guess guess", ip="10.9.9.9").status_code == 200


def test_token_endpoint_shares_the_login_throttle(limited, db):
    make_user("api-victim@example.com")
    db.session.commit()
    client = limited().test_client()
    assert _login(client, "api-victim@example.com", "guess guess guess").status_code == 200
    for _ in range(2):
        resp = client.post(
            "/api/v1/auth/tokens", json={"email": "api-victim@example.com", "password": "nope nope"}
        )
        assert resp.status_code == 401
    resp = client.post("/api/v1/auth/tokens", json={"email": "api-victim@example.com", "password": PASSWORD})
    assert resp.status_code == 429
    assert resp.headers["Content-Type"] == "application/problem+json"
    body = resp.get_json()
    assert body["status"] == 429 and "Too many failed attempts" in body["detail"]
    assert int(resp.headers["Retry-After"]) >= 1
    time.sleep(WINDOW + 0.2)
    resp = client.post("/api/v1/auth/tokens", json={"email": "api-victim@example.com", "password": PASSWORD})
    assert resp.status_code == 201


def test_api_limited_per_token_across_ips(limited, db):
    user = make_user("busy@example.com")
    _, secret = services.create_api_token(user, "busy")
    db.session.commit()
    client = limited(API_RATE_LIMIT=f"4 per {WINDOW} second").test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    for n in range(4):
        resp = client.get("/api/v1/auth/me", headers=headers, environ_base={"REMOTE_ADDR": f"10.1.0.{n}"})
        assert resp.status_code == 200
    resp = client.get("/api/v1/auth/me", headers=headers, environ_base={"REMOTE_ADDR": "10.1.0.99"})
    assert resp.status_code == 429 and resp.headers["Content-Type"] == "application/problem+json"
    assert int(resp.headers["Retry-After"]) >= 1


def test_api_limited_per_ip_across_tokens_and_pages_unaffected(limited, db):
    user = make_user("many@example.com")
    secrets = [services.create_api_token(user, f"t{n}")[1] for n in range(5)]
    db.session.commit()
    client = limited(API_RATE_LIMIT=f"4 per {WINDOW} second").test_client()
    codes = [
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {s}"}).status_code for s in secrets
    ]
    assert codes == [200, 200, 200, 200, 429]
    # Anonymous API calls from that IP are limited too; HTML pages are not.
    assert client.get("/api/v1/auth/me").status_code == 429
    assert client.get("/auth/login").status_code == 200


def test_browsing_is_not_counted_and_every_page_limit_is_on_posts(limited, db):
    app = limited(API_RATE_LIMIT=f"2 per {WINDOW} second", LOGIN_RATE_LIMIT=f"2 per {WINDOW} second")
    client = app.test_client()
    for _ in range(5):  # beyond every limit: pages are not counted
        assert client.get("/auth/login").status_code == 200
        assert client.get("/orders/lookup").status_code == 200
        assert client.head("/products").status_code == 200
    # The limits this leaves out are all on POSTs (or on the API, which is counted).
    with app.test_request_context("/orders/lookup", method="POST"):
        assert not nothing_to_count()
    with app.test_request_context("/api/v1/products"):
        assert not nothing_to_count()
    codes = [client.get("/api/v1/products").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    lookups = [
        client.post("/orders/lookup", data={"number": "X", "email": "a@example.com"}).status_code
        for _ in range(3)
    ]
    assert lookups[-1] == 429
