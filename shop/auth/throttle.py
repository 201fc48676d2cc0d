"""Rate limits (Flask-Limiter, Redis storage in production).

- Credential checks (the login form and ``POST /api/v1/auth/tokens``) share two limits that
  count only *failed* attempts: one per account (the e-mail tried, ``LOGIN_RATE_LIMIT``) and
  one per client IP (``LOGIN_IP_RATE_LIMIT``). Once a limit is used up, every attempt gets a
  429 with ``Retry-After`` until the window passes; then the right password works again.
- The whole JSON API has a limit per client IP and one per bearer token (``API_RATE_LIMIT``).
- Password-reset requests are limited per IP (``RESET_RATE_LIMIT``) so the form cannot be
  used to flood a mailbox.
- The guest order look-up form counts like the login form (``shop.orders.order_views``).

Every limit is on POSTs or on the API's paths, so a GET or HEAD of any other page has
nothing to count: :func:`nothing_to_count` tells the limiter so, and it skips its work
(resolving limits, reading the storage) on browsing. A limit on a page's GET would need
that filter changed.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, g, request
from flask_limiter import ApplicationLimit
from flask_limiter.util import get_remote_address

from shop.extensions import limiter

DEFAULT_LOGIN_IP_LIMIT = "30 per minute"
DEFAULT_RESET_LIMIT = "5 per minute"


def _digest(value: str) -> str:
    """A short stable digest, so raw e-mails and tokens never become Redis keys."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def mark_auth_failure() -> None:
    """Record that this request failed a credential check (it then counts against the limits)."""
    # Keyed to the request object: ``g`` may outlive one request when an app context is shared.
    g.auth_failed_request = request._get_current_object()


def _auth_failed(_response) -> bool:
    """``deduct_when`` hook: only failed credential checks use up the login limits."""
    return g.get("auth_failed_request") is request._get_current_object()


def _account_key() -> str:
    """The limit key for the account being tried: the normalized e-mail from form or JSON."""
    email = request.form.get("email") if request.form else None
    if email is None and request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("email"), str):
            email = body["email"]
    return "acct:" + _digest((email or "").strip().lower())


def _login_account_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_ip_limit() -> str:
    return current_app.config.get("LOGIN_IP_RATE_LIMIT") or DEFAULT_LOGIN_IP_LIMIT


def _reset_limit() -> str:
    return current_app.config.get("RESET_RATE_LIMIT") or DEFAULT_RESET_LIMIT


_THROTTLED = "Too many failed attempts. Wait a little and try again."

_login_account = limiter.shared_limit(
    _login_account_limit,
    scope="login-account",
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_auth_failed,
    error_message=_THROTTLED,
)
_login_ip = limiter.shared_limit(
    _login_ip_limit,
    scope="login-ip",
    key_func=get_remote_address,
    methods=["POST"],
    deduct_when=_auth_failed,
    error_message=_THROTTLED,
)
_reset_ip = limiter.shared_limit(
    _reset_limit,
    scope="password-reset",
    key_func=get_remote_address,
    methods=["POST"],
    error_message="Too many password reset requests. Wait a little and try again.",
)


def login_throttle(view):
    """Decorator: the shared per-account and per-IP failed-login limits."""
    return _login_account(_login_ip(view))


def reset_throttle(view):
    """Decorator: the per-IP limit on password-reset requests."""
    return _reset_ip(view)


# ---- the whole API ---------------------------------------------------------------------


def _api_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def _not_api() -> bool:
    return not request.path.startswith("/api/")


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


def _no_bearer() -> bool:
    return _not_api() or not _bearer()


def _token_key() -> str:
    return "token:" + _digest(_bearer())


API_LIMITS = (
    ApplicationLimit(
        limit_provider=_api_limit, key_function=get_remote_address, scope="api-ip", exempt_when=_not_api
    ),
    ApplicationLimit(
        limit_provider=_api_limit, key_function=_token_key, scope="api-token", exempt_when=_no_bearer
    ),
)


def nothing_to_count() -> bool:
    """Limiter request filter: a GET or HEAD outside ``/api/``, which no limit applies to
    (see the module docstring)."""
    return request.method in ("GET", "HEAD") and not request.path.startswith("/api/")


def init_rate_limits(app: Flask) -> None:
    """Install the API-wide limits and :func:`nothing_to_count` on the (shared) limiter;
    harmless when limits are off."""
    if nothing_to_count not in limiter._request_filters:
        limiter.request_filter(nothing_to_count)
    app.config.setdefault("LOGIN_IP_RATE_LIMIT", DEFAULT_LOGIN_IP_LIMIT)
    app.config.setdefault("RESET_RATE_LIMIT", DEFAULT_RESET_LIMIT)
    manager = limiter.limit_manager
    current = list(manager._application_limits)
    for lim in API_LIMITS:
        if not any(lim is other for other in current):
            current.append(lim.bind(limiter))
    manager.set_application_limits(current)
