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

    # Cache: Redis when REDIS_URL is set, in-process otherwise.
    CACHE_DEFAULT_TIMEOUT = _int("CACHE_DEFAULT_TIMEOUT", 300)
    CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "shop:")

    # Rate limits (Flask-Limiter); storage follows REDIS_URL.
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True
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
    SHOP_CURRENCY = os.environ.get("SHOP_CURRENCY", "USD")
    SHOP_LOCALE = os.environ.get("SHOP_LOCALE", "en_US")
    PRODUCTS_PER_PAGE = 24
    API_MAX_PER_PAGE = 100
    MAX_CART_QUANTITY = 99

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
    REMEMBER_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(days=14)
    FORCE_HTTPS = False

    # Mail: "file" writes each message as a .eml file under MAIL_OUTBOX_DIR; "smtp" sends.
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "file")
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR", str(BASE_DIR / "instance" / "outbox"))
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "shop@localhost")

    PAYMENT_PROVIDERS = [
        p.strip() for p in os.environ.get("PAYMENT_PROVIDERS", "manual,test").split(",") if p.strip()
    ]
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
