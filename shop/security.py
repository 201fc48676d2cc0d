"""Session login wiring and security headers."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from shop.extensions import db, login_manager, talisman

#: No inline script anywhere; images may come from the catalog's remote image host.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": ["'self'", "data:", "https:"],
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "base-uri": "'self'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
}


def init_security(app: Flask) -> None:
    """Configure Flask-Login and Talisman (CSP, nosniff, referrer policy; HSTS in production)."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    production = app.config.get("ENV_NAME") == "production"
    talisman.init_app(
        app,
        force_https=app.config.get("FORCE_HTTPS", False),
        strict_transport_security=production,
        session_cookie_secure=app.config.get("SESSION_COOKIE_SECURE", False),
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        x_content_type_options=True,
    )


@login_manager.user_loader
def load_user(session_token: str):
    """Load the user whose current session token is in the cookie (None ends the session)."""
    from shop.auth.models import User

    user = db.session.scalar(select(User).where(User.session_token == session_token))
    if user is None or not user.is_active:
        return None
    return user
