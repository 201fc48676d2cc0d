"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory
from sqlalchemy import text

from shop.extensions import cache, db, limiter
from shop.front_cache import serve_constant

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. The answer never changes, so the front cache replays
    it (:func:`shop.front_cache.serve_constant`)."""
    serve_constant()
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Readiness: ``{"status", "checks": {"database", "cache", "rate_limits"}}``.

    - database unreachable: 503 ``unavailable`` (this instance cannot serve; take it out);
    - cache or rate-limit storage (Redis) unreachable: 200 ``degraded``: pages are built
      from the database and limits are counted per process, so the instance still serves.
      Answering 503 here would take every instance out of the load balancer at once and
      turn a slower shop into no shop;
    - otherwise 200 ``ok``.

    Each check is bounded by the service's connect and socket timeouts (``config.py``).
    """
    checks = {"database": _check_database(), "cache": _check_cache(), "rate_limits": _check_rate_limits()}
    if checks["database"] != "ok":
        return {"status": "unavailable", "checks": checks}, 503
    degraded = any(value != "ok" for value in checks.values())
    return {"status": "degraded" if degraded else "ok", "checks": checks}, 200


def _check_database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # report, don't crash
        db.session.rollback()
        return f"error: {exc.__class__.__name__}"


def _check_cache() -> str:
    try:
        cache.set("readyz", "1", timeout=5)
        return "ok" if cache.get("readyz") == "1" else "error: no round trip"
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"


def _check_rate_limits() -> str:
    if not limiter.enabled:
        return "ok"  # switched off (RATELIMIT_ENABLED=false): nothing to degrade
    try:
        reachable = limiter.storage.check()
    except Exception:
        reachable = False
    return "ok" if reachable else "degraded: counted in each process's memory"


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico regardless of the page's icon link."""
    return send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml")
