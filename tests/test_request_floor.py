"""What every anonymous request pays: one cache round trip for a cached answer, the security
headers Talisman would send, no session work or cookie for a visitor without one.

Runs on real Redis when TEST_REDIS_URL is set (as in CI), else on the in-process cache (the
round-trip test then needs Redis and is skipped).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask_talisman import Talisman
from werkzeug.http import generate_etag
from werkzeug.wrappers import Response

from shop.extensions import talisman
from tests.factories import make_product, make_user, sign_in


@pytest.fixture()
def redis_commands(app, monkeypatch):
    """The names of the Redis commands sent from now on (a list that fills as they go)."""
    if app.config["CACHE_TYPE"] != "RedisCache":
        pytest.skip("needs Redis (TEST_REDIS_URL)")
    sent: list[str] = []
    original = redis.Redis.execute_command

    def counting(self, *args, **kwargs):
        sent.append(str(args[0]).upper())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", counting)
    return sent


@pytest.mark.parametrize("path", ["/api/v1/products/floor-cam", "/api/v1/products?per_page=5"])
def test_a_cached_answer_built_by_another_process_costs_one_round_trip(app, client, db, redis_commands, path):
    make_product(name="Floor cam", slug="floor-cam", stock=4)
    db.session.commit()
    first = client.get(path)
    assert first.status_code == 200
    # Another worker built it: this process has never seen which products it shows, so its
    # first read asks for their stamps in a second round trip; later reads need only one.
    app.extensions.pop("shop_cache_deps", None)
    assert client.get(path).get_data() == first.get_data()
    for _ in range(2):
        redis_commands.clear()
        again = client.get(path)
        assert again.get_data() == first.get_data()
        assert redis_commands == ["MGET"], redis_commands


def _talisman_headers(app, path: str, base_url: str = "http://localhost") -> dict:
    """The headers flask-talisman's own per-request code makes for a request to ``path``."""
    with app.test_request_context(path, base_url=base_url):
        scratch = Response()
        before = set(scratch.headers.keys())
        Talisman._set_response_headers(talisman, scratch)
        return {k: v for k, v in scratch.headers.items() if k not in before}


@pytest.mark.parametrize("path", ["/", "/healthz", "/api/v1/products", "/no-such-page", "/auth/login"])
def test_security_headers_are_talismans_own(app, client, path):
    expected = _talisman_headers(app, path)
    assert "Content-Security-Policy" in expected and expected["X-Frame-Options"] == "DENY"
    for _ in range(2):  # the first answer makes the list, the second reuses it
        resp = client.get(path)
        assert {k: resp.headers.get(k) for k in expected} == expected


def test_views_with_their_own_talisman_options_keep_them(app, client):
    # The readiness probe: an answer Flask builds every time (the liveness probe's is
    # replayed by the front cache, which serves the headers it learned).
    view = app.view_functions["health.readyz"]
    view.talisman_view_options = {"frame_options": "SAMEORIGIN"}
    try:
        assert client.get("/readyz").headers["X-Frame-Options"] == "SAMEORIGIN"
    finally:
        del view.talisman_view_options
    assert client.get("/readyz").headers["X-Frame-Options"] == "DENY"


def test_browsing_sets_no_cookie_and_a_session_still_works(app, client, db):
    make_product(name="Floor lamp", slug="floor-lamp")
    user = make_user(email="floor@example.com")
    db.session.commit()
    for path in ("/", "/p/floor-lamp", "/healthz", "/api/v1/products/floor-lamp"):
        resp = client.get(path)
        assert resp.status_code == 200 and "Set-Cookie" not in resp.headers
    assert "Cookie" in client.get("/p/floor-lamp").headers["Vary"]
    sign_in(client, user)
    account = client.get("/account")
    assert account.status_code == 200 and "floor@example.com" in account.get_data(as_text=True)
    assert client.get("/p/floor-lamp").headers["Cache-Control"] == "private, no-store"


#: Libraries only commands, jobs and admin uploads use; a web worker never loads them.
NOT_FOR_WEB_WORKERS = (
    "openpyxl",
    "PIL",
    "stripe",
    "requests",
    "alembic",
    "flask_migrate",
    "mako",
    "pygments",
)


def test_a_web_worker_does_not_import_what_only_commands_and_jobs_use():
    script = (
        "import sys\n"
        "from shop import create_app\n"
        "create_app('testing')\n"
        f"print(','.join(m for m in {NOT_FOR_WEB_WORKERS!r} if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DATABASE_URL": "sqlite://", "REDIS_URL": ""}
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_flask_db_still_finds_the_migrations(app):
    # The first use loads Flask-Migrate with the app's settings.
    config = app.extensions["migrate"]
    assert config.directory.endswith("migrations") and config.db is not None
    assert "upgrade" in app.cli.get_command(None, "db").list_commands(None)


def test_remembered_urls_are_the_ones_flask_builds(app):
    cases = [
        ("catalog.product_list", {"page": 2, "sort": "price_asc"}),
        ("catalog.product_list", {"sort": "price_asc", "page": 2}),  # the query keeps its order
        ("catalog.product_list", {"page": True}),  # not the same URL as page=1
        ("catalog.product_list", {"page": 1}),
        ("catalog.product_list", {"brand": ["A", "B"]}),  # unhashable: built each time
        ("catalog.product_detail", {"slug": "floor-lamp"}),
        ("static", {"filename": "css/shop.css"}),
    ]
    for script_root in ("", "/shop"):
        with app.test_request_context("/", environ_base={"SCRIPT_NAME": script_root}):
            for _ in range(2):  # built, then remembered
                for endpoint, values in cases:
                    assert app.url_for(endpoint, **values) == Flask.url_for(app, endpoint, **values)
            external = app.url_for("catalog.home", _external=True)
            assert external.startswith("http://") and external == Flask.url_for(
                app, "catalog.home", _external=True
            )


def test_a_cached_page_keeps_its_bytes_and_etag(client, db):
    make_product(name="Floor fan", slug="floor-fan", stock=3)
    db.session.commit()
    first = client.get("/p/floor-fan")  # built and stored
    again = client.get("/p/floor-fan")  # from the cache
    assert again.get_data() == first.get_data() and "Floor fan" in again.get_data(as_text=True)
    assert again.headers["ETag"] == first.headers["ETag"] == f'"{generate_etag(first.get_data())}"'
    assert again.headers["Content-Type"] == "text/html; charset=utf-8" and "Date" in again.headers
    unchanged = client.get("/p/floor-fan", headers={"If-None-Match": again.headers["ETag"]})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
