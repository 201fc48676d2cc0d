"""Test fixtures: an app on a real database (SQLite or PostgreSQL) and real Redis.

Environment:
    TEST_DATABASE_URL   database for the suite (default: a temporary SQLite file).
    TEST_REDIS_URL      Redis for cache and rate limits (default: in-process cache).
    CI=true             a configured service that is unreachable fails the run.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from config import TestingConfig, normalize_database_url
from shop import create_app
from shop.extensions import cache
from shop.extensions import db as _db


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return normalize_database_url(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """The test database URL, with the schema created once for the session."""
    url = _database_url(tmp_path_factory)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # pragma: no cover - environment problem
        pytest.exit(f"test database unreachable: {url}: {exc}", returncode=3)
    import shop.models  # noqa: F401  (register tables)
    from shop.search import index as search_schema

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        else:
            _db.metadata.drop_all(conn)
        _db.metadata.create_all(conn)
        search_schema.install(conn)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def redis_url():
    """Redis URL for the suite, checked reachable (None: in-process cache)."""
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI") == "true" and os.environ.get("REQUIRE_REDIS", "true") == "true":
            pytest.exit("CI=true but TEST_REDIS_URL is not set", returncode=3)
        return None
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except Exception as exc:  # pragma: no cover
        pytest.exit(f"Redis unreachable at {url}: {exc}", returncode=3)
    return url


def make_config(database_url: str, redis_url: str | None, **overrides):
    """A TestingConfig subclass bound to the suite's database and Redis."""
    attrs = {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url or ""}
    attrs.update(overrides)
    return type("SuiteConfig", (TestingConfig,), attrs)


def _clean(app) -> None:
    from shop.search import index as search_schema

    with app.app_context():
        engine = _db.engine
        with engine.begin() as conn:
            tables = list(reversed(_db.metadata.sorted_tables))
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                conn.execute(text("PRAGMA foreign_keys=OFF"))
                for t in tables:
                    conn.execute(t.delete())
                conn.execute(text("PRAGMA foreign_keys=ON"))
            search_schema.clear(conn)
        cache.clear()


@pytest.fixture
def app_factory(database_url, redis_url):
    """Build extra apps on the same database with config overrides: ``app_factory(X=1)``."""
    made = []

    def _make(**overrides):
        app = create_app(make_config(database_url, redis_url, **overrides))
        made.append(app)
        return app

    yield _make
    for app in made:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


@pytest.fixture
def app(app_factory):
    """The app on a clean database and an empty cache."""
    app = app_factory()
    _clean(app)
    with app.app_context():
        yield app
        _db.session.remove()


@pytest.fixture
def db(app):
    """The Flask-SQLAlchemy handle, inside an app context."""
    return _db


@pytest.fixture
def client(app):
    """A test client (CSRF off unless a test turns it on)."""
    return app.test_client()


class AuthActions:
    """Log a test client in and out through the real login page."""

    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = "correct horse battery"):
        """POST the login form; returns the response."""
        return self._client.post("/auth/login", data={"email": email, "password": password})

    def logout(self):
        """POST to log out."""
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client):
    """Login helper for the ``client`` fixture."""
    return AuthActions(client)
