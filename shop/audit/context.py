"""The request's part of an audit entry: the client's IP address.

Services never read ``request``. Instead, before each request the app stores the client
address (``request.remote_addr``: after ``ProxyFix``, the address the load balancer saw) on
``g``, and :func:`shop.audit.record` takes it from there when its caller gives no ``ip``.
Outside a request (CLI commands, jobs) there is none and entries have no IP.
"""

from __future__ import annotations

from flask import Flask, g, has_app_context, request


def _remember_ip() -> None:
    """``before_request``: keep the client address for the entries this request writes."""
    g.audit_ip = request.remote_addr


def _forget_ip(_exc: BaseException | None = None) -> None:
    """``teardown_request``: a later request on the same app context must not inherit it."""
    g.pop("audit_ip", None)


def init_app(app: Flask) -> None:
    """Register the hooks that make :func:`current_ip` know the request's client address."""
    app.before_request(_remember_ip)
    app.teardown_request(_forget_ip)


def current_ip() -> str | None:
    """The current request's client address (IPv4 or IPv6 text), or None outside a request."""
    if not has_app_context():
        return None
    return g.get("audit_ip")
