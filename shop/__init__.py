"""The shop: one Flask application serving pages, admin forms and a JSON API."""

from __future__ import annotations

import importlib
import os

from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from werkzeug.middleware.proxy_fix import ProxyFix

from config import CONFIGS, Config
from shop import (
    admin,
    auth,
    catalog,
    dbconnect,
    errors,
    health,
    http_caching,
    orders,
    payments,
    pricing,
    search,
    security,
    templating,
)
from shop.audit import context as audit_context
from shop.auth import commands as auth_commands
from shop.auth.login_cache import register_login_cache
from shop.cache_invalidation import register_cache_invalidation
from shop.catalog import commands as catalog_commands
from shop.extensions import api, cache, csrf, db, jobs, limiter, login_manager, migrate
from shop.front_cache import install_front_cache
from shop.jobs import commands as jobs_commands
from shop.orders import commands as orders_commands
from shop.orders.cart_counts import register_cart_counts
from shop.orders.sales_marks import register_sales_marks
from shop.payments import commands as payments_commands
from shop.search import commands as search_commands
from shop.transaction import close_session
from shop.wsgiapp import ShopFlask

#: Modules whose import registers routes on the blueprints.
ROUTE_MODULES = (
    "shop.admin.audit",
    "shop.admin.jobs",
    "shop.admin.orders",
    "shop.admin.pricing",
    "shop.admin.products",
    "shop.admin.product_sheets",
    "shop.admin.users",
    "shop.admin.views",
    "shop.addresses.api",
    "shop.addresses.views",
    "shop.auth.api",
    "shop.auth.views",
    "shop.auth.account",
    "shop.catalog.api",
    "shop.catalog.views",
    "shop.orders.api",
    "shop.orders.views",
    "shop.orders.checkout_views",
    "shop.orders.order_views",
    "shop.payments.api",
    "shop.payments.views",
    "shop.pricing.api",
    "shop.search.api",
    "shop.search.views",
)

#: Modules whose import declares jobs or the outbox's message renderers.
JOB_MODULES = (
    "shop.jobs.tasks",
    "shop.orders.notifications",
    "shop.auth.mails",
    "shop.catalog.sheets.jobs",
)

#: Modules whose ``COMMANDS`` make up the ``flask shop ...`` group.
COMMAND_MODULES = (
    auth_commands,
    catalog_commands,
    jobs_commands,
    orders_commands,
    payments_commands,
    search_commands,
)


def create_app(config: str | type[Config] | None = None) -> Flask:
    """Build the app. ``config`` is a config class or a name from ``config.CONFIGS``
    (default: ``$SHOP_CONFIG`` or ``development``).

    Raises:
        RuntimeError: production settings are incomplete (e.g. no real SECRET_KEY).
    """
    app = ShopFlask(__name__, instance_relative_config=True)
    load_config(app, config)
    install_front_cache(app)  # inside ProxyFix: it sees the scheme and host Flask sees
    register_proxy_fix(app)
    register_extensions(app)
    register_http_caching(app)
    register_jobs(app)
    register_audit_context(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def load_config(app: Flask, config) -> None:
    """Load settings from a config class; production validates its secrets first."""
    if config is None or isinstance(config, str):
        config = CONFIGS[config or os.environ.get("SHOP_CONFIG", "development")]
    if hasattr(config, "validate"):
        config.validate()
    app.config.from_object(config)
    os.makedirs(app.instance_path, exist_ok=True)


def register_proxy_fix(app: Flask) -> None:
    """Trust ``PROXY_FIX_X_FOR`` proxies' X-Forwarded-* headers (behind a load balancer)."""
    hops = app.config.get("PROXY_FIX_X_FOR", 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_extensions(app: Flask) -> None:
    """Bind the extensions to the app."""
    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault("CACHE_TYPE", "RedisCache" if redis_url else "SimpleCache")
    if redis_url:
        app.config.setdefault("CACHE_REDIS_URL", redis_url)
        # The time-outs join any options the config gives (e.g. a key prefix), never replace them.
        for key in ("CACHE_OPTIONS", "RATELIMIT_STORAGE_OPTIONS"):
            app.config[key] = {**redis_timeouts(app.config), **(app.config.get(key) or {})}
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", app.config["CACHE_KEY_PREFIX"] + "rl")
    app.config.setdefault("API_TITLE", "shop API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")

    db.init_app(app)
    _database_deadline(app)
    # Runs before Flask-SQLAlchemy's own teardown (the last registered runs first).
    app.teardown_appcontext(close_session)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), os.pardir, "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    cache.init_app(app)
    limiter.init_app(app)
    api.init_app(app)
    security.init_security(app)
    register_cache_invalidation()
    register_login_cache()
    register_cart_counts()
    register_sales_marks()
    _sqlite_pragmas(app)


def register_http_caching(app: Flask) -> None:
    """ETag, 304 and ``Cache-Control`` for public pages; no session for browsing visitors."""
    http_caching.init_http_caching(app)


def register_jobs(app: Flask) -> None:
    """Declare the jobs and bind the queue to the app (Redis, or in-process without it)."""
    for module in JOB_MODULES:
        importlib.import_module(module)
    jobs.init_app(app)


def redis_timeouts(config) -> dict:
    """redis-py client options bounding every Redis call: ``{"socket_connect_timeout",
    "socket_timeout"}`` in seconds, from ``REDIS_CONNECT_TIMEOUT`` and ``REDIS_SOCKET_TIMEOUT``.

    Without them a hung Redis holds each call for redis-py's default of 5 seconds.
    """
    return {
        "socket_connect_timeout": config["REDIS_CONNECT_TIMEOUT"],
        "socket_timeout": config["REDIS_SOCKET_TIMEOUT"],
    }


def engine_options(config) -> dict:
    """``SQLALCHEMY_ENGINE_OPTIONS`` with the database timeouts added where not given.

    Every engine waits at most ``DATABASE_POOL_TIMEOUT`` seconds for a pooled connection. On
    PostgreSQL, opening a connection gives up after ``DATABASE_CONNECT_TIMEOUT`` seconds and
    a statement after ``DATABASE_STATEMENT_TIMEOUT`` seconds (server side; 0 turns it off).
    Returns a new dict; the config's own is left as it was (config classes share it).
    """
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:"):
        # An in-memory SQLite database has one static connection and no pool to wait for.
        options.setdefault("pool_timeout", config["DATABASE_POOL_TIMEOUT"])
    if url.get_backend_name() == "postgresql":
        connect_args = dict(options.get("connect_args") or {})
        # libpq counts whole seconds and treats anything below 2 as 2.
        connect_args.setdefault("connect_timeout", max(2, int(config["DATABASE_CONNECT_TIMEOUT"])))
        statement_ms = int(config["DATABASE_STATEMENT_TIMEOUT"] * 1000)
        if statement_ms > 0 and "options" not in url.query:
            connect_args.setdefault("options", f"-c statement_timeout={statement_ms}")
        options["connect_args"] = connect_args
    return options


def _database_deadline(app: Flask) -> None:
    """Stop waiting for a PostgreSQL that does not answer after ``DATABASE_READ_TIMEOUT``
    seconds (0: wait as long as it takes), and after such a timeout, do not try to connect
    for ``DATABASE_RETRY_INTERVAL`` seconds."""
    deadline = app.config["DATABASE_READ_TIMEOUT"] or None
    with app.app_context():
        for engine in db.engines.values():
            dbconnect.install_deadline(engine, deadline, app.config["DATABASE_RETRY_INTERVAL"])


def _sqlite_pragmas(app: Flask) -> None:
    """Turn on foreign keys and a lock wait (busy timeout) for SQLite connections."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - trivial
        if dbapi_conn.__class__.__module__.startswith("sqlite3"):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()


def register_audit_context(app: Flask) -> None:
    """Let audit entries written during a request carry its client address."""
    audit_context.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Attach the HTML blueprints and the JSON API (under /api/v1)."""
    # The modules that declare routes on the blueprints (imported for that effect).
    for module in ROUTE_MODULES:
        importlib.import_module(module)

    for bp in (catalog.bp, search.bp, auth.bp, orders.bp, payments.bp, admin.bp, health.bp):
        app.register_blueprint(bp)
    for api_bp, prefix in (
        (auth.api_bp, "/api/v1"),
        (catalog.api_bp, "/api/v1"),
        (search.api_bp, "/api/v1"),
        (orders.api_bp, "/api/v1"),
        (payments.api_bp, "/api/v1"),
        (pricing.api_bp, "/api/v1"),
    ):
        # Bearer calls need no CSRF token; session calls are checked in api_auth.
        csrf.exempt(api_bp)
        api.register_blueprint(api_bp, url_prefix=prefix)


def register_error_handlers(app: Flask) -> None:
    """One handler: problem+json for API clients, an error page otherwise."""
    errors.register_error_handlers(app)


def register_template_helpers(app: Flask) -> None:
    """Jinja filters and globals (money formatting, categories for navigation)."""
    templating.init_templating(app)


def register_commands(app: Flask) -> None:
    """Add the ``flask shop ...`` group: every command module's ``COMMANDS``.

    The group is made per app, so two apps in one process never share commands.
    """
    group = AppGroup("shop", help="Shop administration commands.")
    for module in COMMAND_MODULES:
        for command in module.COMMANDS:
            group.add_command(command)
    app.cli.add_command(group)
