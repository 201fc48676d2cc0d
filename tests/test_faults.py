"""Faults, one defect at a time: Redis refusing, Redis dying during a request, Redis hung,
the database down. Each test drives the real app through a proxy it controls (a private
redis-server behind :class:`tests.faultproxy.FaultProxy`, or PostgreSQL behind one) and
asserts what the visitor gets: an answer, in bounded time, never a 500.

The live version (gunicorn, concurrent load, phases) is ``tests/test_faults_live.py``.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
from flask import request
from sqlalchemy import select

from shop.extensions import cache, limiter
from shop.orders.models import Order
from tests.factories import PASSWORD, bearer_headers, make_product, make_user
from tests.faultproxy import FaultProxy, private_redis

ADDRESS = {
    "name": "Fault Tester",
    "line1": "1 Outage Rd",
    "city": "Failover",
    "region": "IA",
    "postal_code": "50300",
    "country": "US",
}
#: A request must be answered well within this many seconds while Redis hangs; a hung
#: Redis call without a socket timeout never returns (redis-py's default waits 5 s per try).
HUNG_BUDGET = 3.0


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):
    """A private redis-server (on a unix socket) that these tests may break at will."""
    server = private_redis(str(tmp_path_factory.mktemp("redis")))
    yield server
    server.stop()


@pytest.fixture
def redis_proxy(own_redis):
    """A fault proxy in front of the private Redis."""
    proxy = FaultProxy(own_redis.socket_path).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def faulty_app(app, app_factory, redis_proxy):
    """The app with its cache and rate limits on Redis through the proxy, limits on, and
    errors answered as in production (not re-raised into the test)."""
    host, port = redis_proxy.address
    made = app_factory(
        REDIS_URL=f"redis://{host}:{port}/0",
        RATELIMIT_ENABLED=True,
        API_RATE_LIMIT="1000 per minute",
        LOGIN_RATE_LIMIT="3 per minute",
        LOGIN_IP_RATE_LIMIT="100 per minute",
        PROPAGATE_EXCEPTIONS=False,
    )
    with made.app_context():
        cache.clear()
        limiter.reset()
    yield made
    # One Limiter object serves every app of the process: leave it on its real storage.
    limiter._storage_dead = False


@pytest.fixture
def shop_data(app, db):
    """A product and a customer with an API token, committed."""
    product = make_product(name="Sturdy kettle", stock=50)
    user = make_user("kettle@example.com")
    headers = bearer_headers(user)
    db.session.commit()
    return {"product": product, "user": user, "headers": headers}


def _order(client, headers, sku, key=None):
    """Put one unit in the caller's cart and order it; return the order response."""
    added = client.post("/api/v1/cart/items", json={"sku": sku, "quantity": 1}, headers=headers)
    assert added.status_code in (200, 201), added.get_json()
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/api/v1/orders", json={"shipping_address": ADDRESS}, headers={**headers, **extra})


def _orders_in_db(db) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Order.number)))


def test_redis_refusing_keeps_api_login_reset_and_lookup_working(
    faulty_app, redis_proxy, shop_data, db, caplog
):
    caplog.set_level(logging.WARNING)
    redis_proxy.refuse()
    client = faulty_app.test_client()
    sku, slug = shop_data["product"].sku, shop_data["product"].slug

    assert client.get("/api/v1/openapi.json").status_code == 200
    listing = client.get("/api/v1/products")
    assert listing.status_code == 200 and sku in {p["sku"] for p in listing.get_json()["data"]}
    assert client.get(f"/p/{slug}").status_code == 200
    assert client.get("/").status_code == 200

    login = client.post("/auth/login", data={"email": "kettle@example.com", "password": PASSWORD})
    assert login.status_code == 302
    assert client.get("/account").status_code == 200
    client.post("/auth/logout")
    assert client.post("/auth/reset", data={"email": "kettle@example.com"}).status_code in (200, 302, 303)
    lookup = client.post("/orders/lookup", data={"number": "NOPE-123", "email": "x@example.com"})
    assert lookup.status_code in (404, 422)

    placed = _order(client, shop_data["headers"], sku)
    assert placed.status_code == 201, placed.get_json()
    assert _orders_in_db(db) == [placed.get_json()["data"]["number"]]

    assert "falling back to in-memory" in caplog.text


def test_rate_limits_still_apply_in_memory_while_redis_refuses(faulty_app, redis_proxy, shop_data):
    redis_proxy.refuse()
    client = faulty_app.test_client()
    bad = {"email": "kettle@example.com", "password": "not the password"}
    assert [client.post("/auth/login", data=bad).status_code for _ in range(3)] == [200, 200, 200]
    assert client.post("/auth/login", data=bad).status_code == 429


@pytest.mark.parametrize("kind", ["order", "failed login"])
def test_redis_dying_during_a_request_does_not_turn_it_into_a_500(
    faulty_app, redis_proxy, shop_data, db, kind
):
    """Redis goes away after the view has done its work (the order is committed) but before
    the rate limiter writes its headers and counts the request."""

    @faulty_app.after_request  # runs before the limiter's own after-request hook
    def _redis_dies(response):
        if request.method == "POST" and request.path in ("/api/v1/orders", "/auth/login"):
            redis_proxy.refuse()
        return response

    client = faulty_app.test_client()
    if kind == "order":
        placed = _order(client, shop_data["headers"], shop_data["product"].sku)
        assert placed.status_code == 201, placed.get_data(as_text=True)
        assert _orders_in_db(db) == [placed.get_json()["data"]["number"]]
    else:
        resp = client.post("/auth/login", data={"email": "kettle@example.com", "password": "wrong one"})
        assert resp.status_code == 200 and b"Invalid" in resp.data


def test_hung_redis_costs_each_request_bounded_time(faulty_app, redis_proxy, shop_data, db):
    client = faulty_app.test_client()
    slug, sku = shop_data["product"].slug, shop_data["product"].sku
    assert client.get(f"/p/{slug}").status_code == 200  # connections to Redis are open
    redis_proxy.hang()
    requests = [
        ("get", f"/p/{slug}", {}),
        ("get", "/", {}),
        ("get", "/api/v1/products", {}),
        ("get", "/api/v1/openapi.json", {}),
        ("post", "/auth/login", {"data": {"email": "kettle@example.com", "password": PASSWORD}}),
        ("get", f"/p/{slug}", {}),
    ]
    timings = []
    for method, path, kwargs in requests:
        start = time.monotonic()
        resp = getattr(client, method)(path, **kwargs)
        timings.append((path, resp.status_code, round(time.monotonic() - start, 2)))
        assert resp.status_code in (200, 302), timings
    start = time.monotonic()
    placed = _order(client, shop_data["headers"], sku)
    timings.append(("order", placed.status_code, round(time.monotonic() - start, 2)))
    assert placed.status_code == 201, timings
    assert all(seconds < HUNG_BUDGET for _path, _status, seconds in timings), timings
    # Only the first calls wait for Redis; then the cache is skipped and limits are in memory.
    assert sum(seconds for *_rest, seconds in timings[1:]) < HUNG_BUDGET, timings

    redis_proxy.restore()
    assert client.get(f"/p/{slug}").status_code == 200


# --- the database down -------------------------------------------------------------------


@pytest.fixture
def pg_proxy(db):
    """A fault proxy in front of the suite's PostgreSQL, and the database URL through it
    (``(proxy, url)``); None on SQLite."""
    engine_url = db.engine.url
    if engine_url.get_backend_name() != "postgresql":
        yield None
        return
    proxy = FaultProxy((engine_url.host or "127.0.0.1", engine_url.port or 5432)).start()
    url = engine_url.set(host="127.0.0.1", port=proxy.port)
    yield proxy, url.render_as_string(hide_password=False)
    proxy.stop()


@pytest.fixture
def db_down_app(app, app_factory, pg_proxy, tmp_path):
    """An app whose database is unreachable: PostgreSQL behind a proxy that refuses, or on
    SQLite a database file that cannot be opened."""
    if pg_proxy is not None:
        proxy, url = pg_proxy
        made = app_factory(SQLALCHEMY_DATABASE_URI=url, PROPAGATE_EXCEPTIONS=False)
        proxy.refuse()
        return made
    missing = tmp_path / "no-such-directory" / "shop.db"
    return app_factory(SQLALCHEMY_DATABASE_URI=f"sqlite:///{missing}", PROPAGATE_EXCEPTIONS=False)


def test_database_down_pages_get_a_static_503_and_the_api_a_problem(app, client, db_down_app, shop_data):
    # A logged-in visitor: every page loads the user from the database.
    logged_in = client.post("/auth/login", data={"email": "kettle@example.com", "password": PASSWORD})
    assert logged_in.status_code == 302
    down = db_down_app.test_client()
    down.set_cookie("session", client.get_cookie("session").value)
    with db_down_app.app_context():
        cache.clear()  # as after a sale: nothing cached, the category tree needs the database

    for path in ("/", f"/p/{shop_data['product'].slug}", "/account", "/no-such-page", "/cart"):
        resp = down.get(path, headers={"Accept": "text/html"})
        assert resp.status_code == 503, (path, resp.status_code)
        assert resp.mimetype == "text/html" and b"<html" in resp.data
        assert int(resp.headers["Retry-After"]) > 0
        assert b"Categories" not in resp.data  # the static page, not the shop's layout
    login = down.post("/auth/login", data={"email": "kettle@example.com", "password": PASSWORD})
    assert login.status_code == 503

    for method, path in (("get", "/api/v1/products"), ("get", "/api/v1/orders"), ("post", "/api/v1/orders")):
        kwargs = {"json": {"shipping_address": ADDRESS}} if method == "post" else {}
        resp = getattr(down, method)(path, headers=shop_data["headers"], **kwargs)
        assert resp.status_code == 503, (path, resp.status_code)
        assert resp.headers["Content-Type"] == "application/problem+json"
        assert int(resp.headers["Retry-After"]) > 0
        body = resp.get_json()
        assert body["status"] == 503 and body["title"] == "Service Unavailable"

    assert down.get("/healthz").status_code == 200
    ready = down.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["checks"]["database"].startswith("error")


def test_readyz_reports_redis_down_as_degraded_not_unready(faulty_app, redis_proxy):
    client = faulty_app.test_client()
    assert client.get("/readyz").get_json()["status"] == "ok"
    redis_proxy.refuse()
    resp = client.get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] == "degraded", body
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"].startswith("error")
    assert body["checks"]["rate_limits"].startswith("degraded")
    redis_proxy.restore()
    assert client.get("/readyz").get_json()["status"] == "ok"


def test_catalog_change_made_while_redis_is_down_is_seen_once_it_is_back(
    app_factory, redis_proxy, faulty_app, shop_data, db
):
    """The version bump that could not reach Redis is owed, not lost: pages cached before
    the outage are not served after it."""
    faulty_app.config["CACHE_RETRY_INTERVAL"] = 0.2
    product_id, slug = shop_data["product"].id, shop_data["product"].slug
    client = faulty_app.test_client()
    assert "$52.95" in client.get(f"/p/{slug}").get_data(as_text=True)  # now cached

    redis_proxy.refuse()
    with faulty_app.app_context():
        product = db.session.get(type(shop_data["product"]), product_id)
        product.price_cents = 4100
        db.session.commit()  # the catalog version cannot be bumped now
    assert "$41.00" in client.get(f"/p/{slug}").get_data(as_text=True)  # built without cache

    redis_proxy.restore()
    time.sleep(0.3)
    assert "$41.00" in client.get(f"/p/{slug}").get_data(as_text=True)


@pytest.mark.postgres
def test_database_lost_while_a_request_holds_a_transaction_keeps_its_answer(app_factory, pg_proxy, shop_data):
    """The connection dies after the view answered but before the session is closed: the
    rollback at teardown fails, and must not replace the answer with the server's bare 500."""
    if pg_proxy is None:
        pytest.skip("needs PostgreSQL (a proxy between the app and its TCP port)")
    proxy, url = pg_proxy
    made = app_factory(SQLALCHEMY_DATABASE_URI=url, PROPAGATE_EXCEPTIONS=False)

    @made.after_request
    def _database_goes_away(response):
        if request.path == "/api/v1/orders":
            proxy.refuse()
        return response

    client = made.test_client()
    resp = client.get("/api/v1/orders", headers=shop_data["headers"])
    assert resp.status_code == 200 and resp.get_json()["data"] == []
    proxy.restore()
    assert client.get("/api/v1/auth/me", headers=shop_data["headers"]).status_code == 200  # reconnected


def _within(seconds: float, request, on_overrun):
    """``request()``'s response if it comes within ``seconds``; otherwise call
    ``on_overrun()`` (which must unblock it) and fail."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("response", request()))
    start = time.monotonic()
    thread.start()
    thread.join(timeout=seconds)
    if thread.is_alive():
        on_overrun()
        thread.join(timeout=30)
        pytest.fail(f"no answer within {seconds} s")
    return result["response"], time.monotonic() - start


@pytest.mark.postgres
def test_database_hung_is_a_503_within_the_read_timeout_then_at_once(app_factory, pg_proxy, shop_data):
    """PostgreSQL stops answering (a frozen server): the pooled connection gives up after
    DATABASE_READ_TIMEOUT; then, for DATABASE_RETRY_INTERVAL, no connection is attempted and
    the visitor gets the 503 at once; after that the next request reconnects."""
    if pg_proxy is None:
        pytest.skip("needs PostgreSQL (a proxy between the app and its TCP port)")
    proxy, url = pg_proxy
    made = app_factory(
        SQLALCHEMY_DATABASE_URI=url,
        PROPAGATE_EXCEPTIONS=False,
        DATABASE_STATEMENT_TIMEOUT=0.5,
        DATABASE_READ_TIMEOUT=1.0,
        DATABASE_CONNECT_TIMEOUT=2,
        DATABASE_RETRY_INTERVAL=1.0,
    )
    client = made.test_client()
    headers = shop_data["headers"]
    assert client.get("/api/v1/orders", headers=headers).status_code == 200  # a connection in the pool
    proxy.hang()
    timings = []
    for _ in range(2):
        resp, seconds = _within(6.0, lambda: client.get("/api/v1/orders", headers=headers), proxy.restore)
        timings.append(seconds)
        assert resp.status_code == 503 and int(resp.headers["Retry-After"]) > 0, (resp.status_code, timings)
    assert timings[0] < 3.0 and timings[1] < 0.5, timings  # the read timeout, then at once
    proxy.restore()
    time.sleep(1.1)  # the retry interval
    assert client.get("/api/v1/orders", headers=headers).status_code == 200
