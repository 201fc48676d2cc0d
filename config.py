"""Application settings, read from the environment.

Every setting the shop uses is defined here. ``Config`` reads the environment;
``TestingConfig`` and ``ProductionConfig`` adjust it. ``create_app`` picks one by
name (``development``, ``testing``, ``production``) or takes a class.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSECURE_DEV_KEY = "dev-only-insecure-secret-key"


def _bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable (``1/true/yes/on`` are true)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    """Read an integer environment variable."""
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _float(name: str, default: float) -> float:
    """Read a number environment variable (e.g. seconds: ``0.5``)."""
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def normalize_database_url(url: str) -> str:
    """Map ``postgres://`` and ``postgresql://`` URLs to the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    """Base settings: development defaults, overridden by environment variables."""

    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_DEV_KEY)
    SQLALCHEMY_DATABASE_URI = normalize_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'shop.db'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL", "")

    # Timeouts, in seconds, so that a service that is down or hung costs a request a
    # bounded wait instead of the whole worker (see "Faults" in the README).
    # PostgreSQL: opening a connection (libpq counts whole seconds, 2 at least), waiting
    # for a free connection in the pool, any one statement (the server ends it; lock waits
    # count), and any answer at all on an open connection (the client gives up on a server
    # that stopped answering: shop.dbconnect; keep it above the statement timeout). 0 turns
    # the last two off, for a long maintenance command. The factory applies them.
    DATABASE_CONNECT_TIMEOUT = _int("DATABASE_CONNECT_TIMEOUT", 3)
    DATABASE_POOL_TIMEOUT = _float("DATABASE_POOL_TIMEOUT", 5)
    DATABASE_STATEMENT_TIMEOUT = _float("DATABASE_STATEMENT_TIMEOUT", 10)
    DATABASE_READ_TIMEOUT = _float("DATABASE_READ_TIMEOUT", 15)
    # After a database timeout a process does not try to connect for this long: requests
    # that need the database get their 503 at once instead of each waiting out a timeout.
    DATABASE_RETRY_INTERVAL = _float("DATABASE_RETRY_INTERVAL", 5)
    # Redis (cache and rate limits): connecting, and waiting for any one reply. Redis
    # answers in well under a millisecond, so half a second means it is not answering.
    REDIS_CONNECT_TIMEOUT = _float("REDIS_CONNECT_TIMEOUT", 0.5)
    REDIS_SOCKET_TIMEOUT = _float("REDIS_SOCKET_TIMEOUT", 0.5)
    # After a failed cache call a process leaves the cache alone for this long (pages are
    # built from the database meanwhile), so a hung Redis costs one timeout per interval.
    CACHE_RETRY_INTERVAL = _float("CACHE_RETRY_INTERVAL", 5)
    # Retry-After of the 503 answered while the database is unreachable.
    UNAVAILABLE_RETRY_AFTER = _int("UNAVAILABLE_RETRY_AFTER", 10)

    # Cache: Redis when REDIS_URL is set, in-process otherwise.
    CACHE_DEFAULT_TIMEOUT = _int("CACHE_DEFAULT_TIMEOUT", 300)
    CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "shop:")

    # Rate limits (Flask-Limiter); storage follows REDIS_URL. When Redis fails, each
    # process counts in its own memory (and logs it) until Redis answers again: limits
    # get looser by the number of processes, but no request fails because of them.
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    #: Answer repeated anonymous requests for public pages before Flask (shop.front_cache).
    FRONT_CACHE_ENABLED = _bool("FRONT_CACHE_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "300 per minute")
    # Failed logins per client IP (LOGIN_RATE_LIMIT is per account); reset e-mails per IP.
    LOGIN_IP_RATE_LIMIT = os.environ.get("LOGIN_IP_RATE_LIMIT", "30 per minute")
    RESET_RATE_LIMIT = os.environ.get("RESET_RATE_LIMIT", "5 per minute")
    # Werkzeug hash method for passwords (scrypt with its default cost).
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt")

    # Number of trusted proxies in front of the app (X-Forwarded-For/-Proto), so rate
    # limits see the real client address behind a load balancer; 0 trusts none.
    PROXY_FIX_X_FOR = _int("PROXY_FIX_X_FOR", 0)

    SHOP_NAME = os.environ.get("SHOP_NAME", "shop")
    # The storefront's brand: the logo (a path under static/ or an absolute URL; empty
    # draws the name as a word mark) and two colours (CSS hex) the theme is built from.
    SHOP_LOGO = os.environ.get("SHOP_LOGO", "img/logo.svg")
    SHOP_BRAND_COLOR = os.environ.get("SHOP_BRAND_COLOR", "#0b4f6c")
    SHOP_ACCENT_COLOR = os.environ.get("SHOP_ACCENT_COLOR", "#f4a259")
    # Product images fetched by ``flask shop fetch-images`` (originals and thumbnails).
    PRODUCT_IMAGE_DIR = os.environ.get("PRODUCT_IMAGE_DIR", "")
    SHOP_CURRENCY = os.environ.get("SHOP_CURRENCY", "USD")
    SHOP_LOCALE = os.environ.get("SHOP_LOCALE", "en_US")
    # Where the shop is: the country the cart page estimates shipping and tax for until
    # the shopper says otherwise (ISO 3166-1 alpha-2).
    SHOP_COUNTRY = os.environ.get("SHOP_COUNTRY", "US").upper()
    # The shop's time zone (an IANA name such as Europe/Berlin): the staff dashboard counts
    # sales by local day in it. Timestamps are stored in UTC whatever it is.
    SHOP_TIMEZONE = os.environ.get("SHOP_TIMEZONE", "UTC")
    # Whether catalog prices include tax (EU style: tax is part of the price and shown as
    # "includes") or not (US style: tax is added at checkout). One setting for the shop.
    PRICES_INCLUDE_TAX = os.environ.get("PRICES_INCLUDE_TAX", "false").lower() in ("1", "true", "yes")
    PRODUCTS_PER_PAGE = 24
    API_MAX_PER_PAGE = 100
    MAX_CART_QUANTITY = 99
    # Saved addresses per customer (the address book); one more is refused with 409.
    ADDRESS_BOOK_LIMIT = _int("ADDRESS_BOOK_LIMIT", 20)

    # Requests: JSON bodies larger than this are refused with 413.
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 64 * 1024)
    # URLs longer than this (path and query string, as sent) are refused with 414. It stays
    # below gunicorn's limit_request_line (4094 bytes with the method and protocol), so the
    # app answers (problem+json) before gunicorn's own HTML page would.
    MAX_URL_LENGTH = _int("MAX_URL_LENGTH", 4000)

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    # Every cookie the shop sets is HttpOnly and SameSite=Lax (Flask-Login's remember cookie
    # has no SameSite unless told). A login lasts LOGIN_MAX_AGE at most, whatever its cookies
    # say, so the remember cookie expires with it.
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    LOGIN_MAX_AGE = timedelta(days=_int("LOGIN_MAX_AGE_DAYS", 30))
    REMEMBER_COOKIE_DURATION = LOGIN_MAX_AGE
    PERMANENT_SESSION_LIFETIME = timedelta(days=14)
    FORCE_HTTPS = False

    # Mail (Flask-Mailman): "file" writes each message as a .eml file under MAIL_OUTBOX_DIR;
    # "smtp" sends; "memory" keeps them for the tests; "console" prints them.
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "file")
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR", str(BASE_DIR / "instance" / "outbox"))
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 10)  # seconds to wait for the SMTP server
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "shop@localhost")
    # The shop's public address, for the links in mails written without a request (an order
    # paid by a provider's webhook, cancelled by the expiry job, shipped by staff).
    SHOP_URL = os.environ.get("SHOP_URL", "http://localhost:5000/")

    # Jobs (Huey): on Redis when REDIS_URL is set, run by `flask shop worker` processes; without
    # Redis they run in the web process right after the response. JOBS_IMMEDIATE runs each job
    # at once, inside the code that hands it over (the test suite).
    JOBS_IMMEDIATE = _bool("JOBS_IMMEDIATE", False)
    JOBS_QUEUE = os.environ.get("JOBS_QUEUE", "")  # queue name; default CACHE_KEY_PREFIX + "jobs"
    JOBS_WORKERS = _int("JOBS_WORKERS", 2)  # threads per `flask shop worker` process
    # Mail outbox: a failed delivery is retried OUTBOX_MAX_ATTEMPTS times in all, waiting
    # OUTBOX_RETRY_DELAY, then twice as long each time (30 s ... 32 min: about an hour).
    OUTBOX_MAX_ATTEMPTS = _int("OUTBOX_MAX_ATTEMPTS", 8)
    OUTBOX_RETRY_DELAY = timedelta(seconds=_int("OUTBOX_RETRY_DELAY_SECONDS", 30))
    # The sweep hands over rows still unsent this long after they were due (a crash between
    # commit and hand-over) and deliveries claimed longer than OUTBOX_LEASE ago (a worker died).
    OUTBOX_SWEEP_AFTER = timedelta(seconds=_int("OUTBOX_SWEEP_AFTER_SECONDS", 60))
    OUTBOX_LEASE = timedelta(seconds=_int("OUTBOX_LEASE_SECONDS", 300))
    # Sent and skipped rows are deleted after this many days (failed ones stay for staff).
    OUTBOX_KEEP = timedelta(days=_int("OUTBOX_KEEP_DAYS", 30))

    # Providers offered at checkout, in this order. `card` is offered only when the Stripe
    # keys below are set; `test` never in production.
    PAYMENT_PROVIDERS = [
        p.strip() for p in os.environ.get("PAYMENT_PROVIDERS", "card,manual,test").split(",") if p.strip()
    ]
    # Stripe (card payments through its hosted Checkout): the secret API key, the signing
    # secret of the webhook endpoint (POST /payments/stripe/webhook), and the API's address
    # (a local stand-in in the tests).
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")
    # Where Stripe's hosted payment page lives (allowed as a form's destination by the CSP).
    STRIPE_CHECKOUT_ORIGIN = os.environ.get("STRIPE_CHECKOUT_ORIGIN", "https://checkout.stripe.com")
    # Seconds to wait for Stripe's answer to one call.
    STRIPE_TIMEOUT = _int("STRIPE_TIMEOUT", 10)
    # Seconds a webhook's signed timestamp may be old (Stripe's library default).
    STRIPE_WEBHOOK_TOLERANCE = _int("STRIPE_WEBHOOK_TOLERANCE", 300)
    # A card order not paid this long after it was placed is cancelled and its stock
    # released (`flask shop expire-unpaid`, also a job every few minutes).
    UNPAID_ORDER_TIMEOUT = timedelta(minutes=_int("UNPAID_ORDER_TIMEOUT_MINUTES", 60))
    IDEMPOTENCY_KEY_TTL = timedelta(hours=_int("IDEMPOTENCY_KEY_TTL_HOURS", 48))
    # A guest's cart untouched this long is abandoned: `flask shop purge-carts` deletes it.
    GUEST_CART_MAX_AGE = timedelta(days=_int("GUEST_CART_MAX_AGE_DAYS", 30))
    PASSWORD_RESET_TTL = timedelta(hours=1)
    API_TOKEN_DEFAULT_TTL = timedelta(days=_int("API_TOKEN_DEFAULT_TTL_DAYS", 90))

    # Search backend follows the database dialect; this only tunes it.
    SEARCH_MAX_QUERY_LENGTH = 200


class TestingConfig(Config):
    """Settings for the test suite: a throwaway database, fast hashing."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key"
    SQLALCHEMY_DATABASE_URI = normalize_database_url(os.environ.get("TEST_DATABASE_URL", "sqlite://"))
    REDIS_URL = os.environ.get("TEST_REDIS_URL", os.environ.get("REDIS_URL", ""))
    CACHE_KEY_PREFIX = os.environ.get("TEST_CACHE_KEY_PREFIX", "shoptest:")
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    MAIL_BACKEND = "memory"
    SHOP_URL = "http://localhost/"  # the test client's address
    JOBS_IMMEDIATE = True  # each job runs as soon as its commit is done, so tests see its effect
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"  # still scrypt, cheap enough for fast tests


class ProductionConfig(Config):
    """Production: secrets and services must come from the environment."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    FORCE_HTTPS = _bool("FORCE_HTTPS", True)
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    PAYMENT_PROVIDERS = [p for p in Config.PAYMENT_PROVIDERS if p != "test"]

    @classmethod
    def validate(cls) -> None:
        """Refuse to start without a real SECRET_KEY and DATABASE_URL.

        Raises:
            RuntimeError: with a message saying which setting is missing.
        """
        key = os.environ.get("SECRET_KEY", "")
        if not key or key == INSECURE_DEV_KEY or len(key) < 32:
            raise RuntimeError(
                "SECRET_KEY must be set to a random value of at least 32 characters in "
                "production, e.g. python -c 'import secrets; print(secrets.token_hex(32))'"
            )
        if not os.environ.get("DATABASE_URL"):
            raise RuntimeError("DATABASE_URL must be set in production (postgresql://...)")


CONFIGS = {
    "development": Config,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
