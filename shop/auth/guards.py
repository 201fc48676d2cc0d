"""Access guards for pages and API endpoints.

``api_auth`` authenticates API calls: a bearer token (``Authorization: Bearer ...``) or
the browser session (unsafe methods then need ``X-CSRFToken``). It puts the caller in
``g.api_user`` and the token (if any) in ``g.api_token``.
"""

from __future__ import annotations

from copy import deepcopy
from functools import wraps

from flask import abort, current_app, g, request
from flask_login import current_user, login_required
from flask_smorest.utils import deepupdate

from shop.auth import services
from shop.exceptions import Forbidden, Unauthorized
from shop.extensions import csrf, db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _bearer_secret() -> str | None:
    """Return the bearer secret from the Authorization header, if any."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def resolve_api_user(required: bool):
    """Identify the API caller; cache the result on ``g``.

    Raises:
        Unauthorized: a bad bearer token, or no credentials when ``required``.
    """
    current = request._get_current_object()
    # ``g`` belongs to the app context, which tests (and CLI code) may share across
    # requests; only trust the cached caller if it was resolved for this very request.
    if "api_user" in g and g.get("api_auth_request") is current:
        if required and g.api_user is None:
            raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
        return g.api_user
    secret = _bearer_secret()
    g.api_auth_request = current
    g.api_token = None
    g.api_user = None
    if secret is not None:
        token = services.authenticate_bearer(secret)
        db.session.commit()  # persist last_used_at
        g.api_token = token
        g.api_user = token.user
    elif current_user.is_authenticated:
        if request.method not in SAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()  # cookie-authenticated writes need X-CSRFToken (400 otherwise)
        g.api_user = current_user._get_current_object()
    if required and g.api_user is None:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
    return g.api_user


def api_auth(scope: str | None = None, role: str | None = None, optional: bool = False):
    """Decorator for API views: require a caller, a token scope and/or a role.

    Args:
        scope: a token scope the bearer token must carry (session callers have all of
            their role's scopes).
        role: ``"staff"`` (staff or admin) or ``"admin"``.
        optional: allow anonymous callers (``g.api_user`` is then None).
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = resolve_api_user(required=not optional)
            if user is not None:
                if role == "staff" and not user.is_staff:
                    raise Forbidden("Staff only.")
                if role == "admin" and not user.is_admin:
                    raise Forbidden("Admins only.")
                if scope and g.api_token is not None and scope not in g.api_token.scope_list:
                    raise Forbidden(f"This token lacks the '{scope}' scope.")
                if scope and scope not in services.ROLE_SCOPES[user.role]:
                    raise Forbidden("Your account may not do this.")
            return view(*args, **kwargs)

        # Document the bearer scheme on the operation in the OpenAPI document.
        security = [{"bearerAuth": []}] + ([{}] if optional else [])
        wrapped._apidoc = deepupdate(
            deepcopy(getattr(wrapped, "_apidoc", {})), {"manual_doc": {"security": security}}
        )
        return wrapped

    return decorator


def staff_required(view):
    """Page decorator: staff or admin, else 403 (login page for anonymous users)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    """Page decorator: admin only, else 403 (login page for anonymous users)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped
