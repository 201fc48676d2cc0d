"""Test fixtures: an app on a real database (SQLite or PostgreSQL) and real Redis.

Environment:
    TEST_DATABASE_URL   database for the suite (default: a temporary SQLite file).
    TEST_REDIS_URL      Redis for cache and rate limits (default: in-process cache).
    CI=true             a configured service that is unreachable fails the run.

Isolation. Every test starts from an empty database and an empty cache, whatever earlier
tests did and through whichever connection, thread, second app or CLI command they did it:

- One app per test process, built once and reused. It is built again after a test that
  created another app (``app_factory`` or ``create_app``), because the shared extension
  objects (Talisman, Flask-Limiter, the API) keep the settings of the app built last.
  Before each test the app's config is put back as it was when the app was built.
- Before each test every table that has rows is emptied and the ids start at 1 again
  (a few milliseconds; ``TRUNCATE`` of every table took far longer on PostgreSQL), the
  search index is emptied, and every Redis key under the process's prefix (the cache and
  the rate-limit counters) is deleted. Not a transaction rolled back after each test:
  many tests commit through connections of their own (a second app "on another worker",
  threads racing for stock, CLI commands), which a rollback would not undo.
- Under pytest-xdist each worker has its own database (``<name>_gw0`` on PostgreSQL,
  created on demand; its own file on SQLite) and its own Redis key prefix
  (``shoptest-gw0:``), so workers share nothing but the servers.
"""

from __future__ import annotations

import copy
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from werkzeug.serving import make_server

from config import TestingConfig, normalize_database_url
from shop import create_app, mail
from shop.audit import schema as audit_schema
from shop.extensions import cache, talisman
from shop.extensions import db as _db

#: The xdist worker running this process ("gw0", "gw1", ...), or None when not distributed.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


@event.listens_for(Engine, "connect")
def _no_durability(dbapi_conn, _record) -> None:
    """Commits of the throwaway test databases need not survive a power cut: skip the
    flush to disk (``synchronous``). What other connections see, and when, is unchanged."""
    if dbapi_conn.__class__.__module__.startswith("sqlite3"):
        dbapi_conn.execute("PRAGMA synchronous = OFF")
    elif dbapi_conn.__class__.__module__.startswith("psycopg"):
        with dbapi_conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")
        dbapi_conn.commit()


def pytest_collection_modifyitems(session, config, items):
    """Run the long tests first, so that parallel workers finish together."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# --- services -----------------------------------------------------------------------------


def _worker_url(url: str) -> str:
    """This worker's own database: ``<name>_gw0`` (PostgreSQL) or ``<stem>_gw0<ext>`` (SQLite)."""
    if not WORKER:
        return url
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False)
    if parsed.database and parsed.database != ":memory:":
        own = Path(parsed.database)
        own = own.with_name(f"{own.stem}_{WORKER}{own.suffix}")
        return parsed.set(database=str(own)).render_as_string()
    return url


def _ensure_database(url: str) -> None:
    """Create this worker's PostgreSQL database if it does not exist yet (connected through
    the suite's database). It is kept for the next run: dropping a database makes PostgreSQL
    write a checkpoint, which can take many seconds on a busy server."""
    name = make_url(url).database
    admin = create_engine(
        normalize_database_url(os.environ["TEST_DATABASE_URL"]), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """This process's test database URL, with the schema created once for the session."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        url = _worker_url(normalize_database_url(given))
    else:  # tmp_path_factory's directory is already per worker
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    if WORKER and make_url(url).get_backend_name() == "postgresql":
        try:
            _ensure_database(url)
        except Exception as exc:  # pragma: no cover - environment problem
            pytest.exit(f"cannot create the worker's database {url}: {exc}", returncode=3)
    _check_database(url)
    engine = create_engine(url)
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


def _redis_url() -> str | None:
    """``TEST_REDIS_URL``, checked reachable (None: in-process cache); exits the run if it is not."""
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


def _check_database(url: str) -> None:
    """Exit the run if the database cannot be reached."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # pragma: no cover - environment problem
        pytest.exit(f"test database unreachable: {url}: {exc}", returncode=3)
    finally:
        engine.dispose()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """Check the services once, before any worker starts, so that the reason is shown."""
    if WORKER is None and not session.config.option.collectonly:
        _redis_url()
        if os.environ.get("TEST_DATABASE_URL"):
            _check_database(normalize_database_url(os.environ["TEST_DATABASE_URL"]))


@pytest.fixture(scope="session")
def redis_url():
    """Redis URL for the suite, checked reachable (None: in-process cache)."""
    return _redis_url()


def _key_prefix() -> str:
    """This process's Redis key prefix: ``shoptest:``, or ``shoptest-gw0:`` under xdist."""
    prefix = TestingConfig.CACHE_KEY_PREFIX
    assert prefix, "an empty CACHE_KEY_PREFIX would make cache.clear() flush the whole Redis database"
    return f"{prefix.rstrip(':')}-{WORKER}:" if WORKER else prefix


def make_config(database_url: str, redis_url: str | None, **overrides):
    """A TestingConfig subclass bound to the suite's database and Redis."""
    prefix = _key_prefix()
    attrs = {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url or "",
        "CACHE_KEY_PREFIX": prefix,
        # Rate-limit counters under the cache's prefix, so that they are emptied with it
        # (Flask-Limiter's default prefix, "LIMITS", is shared by everything on that Redis
        # database and was emptied only by the tests that call limiter.reset()).
        "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": prefix + "LIMITS"},
    }
    attrs.update(overrides)
    return type("SuiteConfig", (TestingConfig,), attrs)


# --- emptying the database ----------------------------------------------------------------


def _emptying_plan(engine: Engine) -> tuple[list[str], list[str]]:
    """``(tables, sequences)``: every table in an order that deletes children before parents
    (the search index first), and on PostgreSQL the id sequences to restart."""
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    if engine.dialect.name != "postgresql":
        return ["search_fts", "search_words", *tables], []
    with engine.connect() as conn:
        sequences = conn.execute(
            text("SELECT pg_get_serial_sequence(t, 'id') FROM unnest(CAST(:tables AS text[])) AS t"),
            {"tables": [t.name for t in _db.metadata.sorted_tables if "id" in t.c]},
        ).scalars()
        sequences = [s for s in sequences if s]
    return ["search_words", "search_documents", *tables], sequences


def _empty_database(engine: Engine, tables: list[str], sequences: list[str]) -> None:
    """Delete every row of every table and restart the ids, as ``TRUNCATE ... RESTART IDENTITY``
    does but in a few milliseconds. Foreign keys stay on: children go first."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # One round trip. A lock held by something left running fails loudly, not forever.
            statements = ["SET LOCAL lock_timeout = '10s'"]
            statements += audit_schema.purge_statements("postgresql")  # the log refuses plain deletes
            statements += [f'DELETE FROM "{t}"' for t in tables if t != "audit_entries"]
            if sequences:
                statements.append("SELECT " + ", ".join(f"setval('{s}', 1, false)" for s in sequences))
            conn.exec_driver_sql("; ".join(statements))
        else:
            # SQLite reuses ids once a table is empty; write (and sync the file) only if needed.
            probe = " UNION ALL ".join(f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)
            filled = set(conn.exec_driver_sql(probe).scalars())
            for t in tables:
                if t in filled:
                    for statement in (
                        audit_schema.purge_statements("sqlite")
                        if t == "audit_entries"
                        else [f'DELETE FROM "{t}"']
                    ):
                        conn.exec_driver_sql(statement)


# --- the app ------------------------------------------------------------------------------


@dataclass
class _SessionApp:
    """The app shared by the tests of this process, rebuilt when another app replaced it."""

    database_url: str
    redis_url: str | None
    app: object = None
    config: dict = field(default_factory=dict)
    engine: Engine | None = None
    plan: tuple = ()

    def get(self):
        # Talisman (like Flask-Limiter and the API) remembers the app initialised last.
        if self.app is None or talisman.app is not self.app:
            self.close()
            self.app = create_app(make_config(self.database_url, self.redis_url))
            self.config = copy.deepcopy(dict(self.app.config))
            with self.app.app_context():
                self.engine = _db.engine
            if not self.plan:
                self.plan = _emptying_plan(self.engine)
        return self.app

    def reset(self) -> None:
        """Config as built, database and cache empty (call inside the app context)."""
        self.app.config.clear()
        self.app.config.update(copy.deepcopy(self.config))
        _empty_database(self.engine, *self.plan)
        cache.clear()
        mail.clear_outbox()

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
        self.app = self.engine = None


@pytest.fixture(scope="session")
def _session_app(database_url, redis_url):
    holder = _SessionApp(database_url, redis_url)
    holder.get()
    yield holder
    holder.close()


@pytest.fixture
def app_factory(_session_app, database_url, redis_url):
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
def app(_session_app):
    """The app on a clean database and an empty cache."""
    app = _session_app.get()
    with app.app_context():
        _session_app.reset()
        yield app
        _db.session.remove()


@pytest.fixture
def live_url(app):
    """The test app served over HTTP on a free port, one thread per request (for a browser,
    or a payment provider's stand-in calling the webhook)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


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
