"""Session login wiring, security headers, rate limits and API request-body checks."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, request, session
from flask_login import current_user
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from shop.auth import websession
from shop.auth.throttle import init_rate_limits
from shop.exceptions import ValidationFailed
from shop.extensions import csrf, login_manager, talisman

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


def content_security_policy(config) -> dict:
    """:data:`CONTENT_SECURITY_POLICY`, with the card payment page's origin
    (``STRIPE_CHECKOUT_ORIGIN``) allowed as a form's destination when cards are taken:
    checkout and "Pay now" are forms whose answer redirects there, and ``form-action``
    governs a form submission's redirects too."""
    policy = dict(CONTENT_SECURITY_POLICY)
    if config.get("STRIPE_SECRET_KEY") and config.get("STRIPE_CHECKOUT_ORIGIN"):
        policy["form-action"] = ["'self'", config["STRIPE_CHECKOUT_ORIGIN"]]
    return policy


#: Ids are 32-bit signed integers in every database we run on.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` URL parts: a number beyond :data:`MAX_ID` is a 404, never a database
    overflow (500). flask-smorest documents the bound as the parameter's ``maximum``."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def init_security(app: Flask) -> None:
    """Configure Flask-Login and Talisman (CSP, nosniff, referrer policy; HSTS in production)."""
    app.url_map.converters["int"] = IdConverter  # before any blueprint adds its routes
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(websession.load_user)

    production = app.config.get("ENV_NAME") == "production"
    talisman.init_app(
        app,
        force_https=app.config.get("FORCE_HTTPS", False),
        strict_transport_security=production,
        session_cookie_secure=app.config.get("SESSION_COOKIE_SECURE", False),
        content_security_policy=content_security_policy(app.config),
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
        x_content_type_options=True,
    )
    init_rate_limits(app)
    # First of all before-request hooks: no caller identity may leak in from another request.
    app.before_request_funcs.setdefault(None, []).insert(0, forget_cached_caller)
    # A browsing visitor has no session, so their first "Add to cart" has no token to send.
    csrf.exempt(FIRST_CART_ADD_VIEW)
    app.before_request(protect_first_cart_add)
    app.before_request(reject_nul_in_params)
    app.before_request(check_api_body)
    app.after_request(websession.drop_dead_remember_cookie)


def forget_cached_caller() -> None:
    """Drop any caller cached on ``g`` by an earlier request in the same app context.

    Each production request has its own app context, but tests and CLI code may push one
    app context and send several requests through it; ``g`` then outlives a request.
    """
    cached = vars(g._get_current_object())
    if cached:  # a fresh app context (every production request) has nothing on g
        for name in ("_login_user", "api_user", "api_token", "api_auth_request", websession.FORGET_REMEMBER):
            cached.pop(name, None)


#: The add-to-cart form's view (``orders.cart_add``), checked by :func:`protect_first_cart_add`.
FIRST_CART_ADD_VIEW = "shop.orders.views.cart_add"
#: ``Sec-Fetch-Site`` values of a request a page of this site made (or the visitor typed).
SAME_SITE_FETCH = frozenset({"same-origin", "none"})


def protect_first_cart_add() -> None:
    """CSRF protection of the add-to-cart form, which public pages render without a token.

    A visitor with a session (a cart, a login, anything) must send the session's token, as
    on every other form (Flask-WTF's check). A visitor without any session has no token and
    nothing a forged request could act for: their request must come from a page of this
    site, by its ``Origin`` (or ``Referer``) and ``Sec-Fetch-Site`` headers when the browser
    sends them (OWASP CSRF Prevention Cheat Sheet: "Verifying Origin With Standard
    Headers", "Fetch Metadata"). Aborts with 400 otherwise.
    """
    if request.endpoint != "orders.cart_add" or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if session or current_user.is_authenticated:
        csrf.protect()
        return
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in SAME_SITE_FETCH:
        abort(400, "The form was sent from another site.")
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if source is not None and not _same_origin(source):
        abort(400, "The form was sent from another site.")
    # Tells the form (Flask-WTF) that this request's CSRF check is done, as protect() does.
    g.csrf_valid = True


def _same_origin(url: str) -> bool:
    """Whether ``url`` (an Origin or Referer) names this site's host (and port). The scheme
    is not compared: behind a proxy that ends TLS the app may see plain HTTP."""
    return urlsplit(url).netloc == request.host


#: Methods whose API requests may carry a JSON body.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def check_api_body() -> None:
    """Refuse bad API request bodies before any view runs (answers are problem+json).

    - larger than ``MAX_CONTENT_LENGTH``: 413;
    - a body that is not declared ``application/json``: 400;
    - malformed JSON: 400.
    Field validation (422) is done by each endpoint's marshmallow schema.
    """
    if not request.path.startswith("/api/") or request.method not in BODY_METHODS:
        return
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        abort(413, f"The request body is larger than {limit} bytes.")
    data = request.get_data(cache=True)  # bounded by MAX_CONTENT_LENGTH (413 otherwise)
    if not data.strip():
        return
    if not request.is_json:
        abort(400, "The request body must be JSON, sent with 'Content-Type: application/json'.")
    try:
        body = request.get_json()
    except BadRequest:
        abort(400, "The request body is not valid JSON.")
    bad = _fields_with_nul(body)
    if bad:
        raise ValidationFailed(
            "Text may not contain NUL characters.",
            {field: ["May not contain NUL characters."] for field in bad},
        )


def _fields_with_nul(value, path: str = "") -> list[str]:
    """Dotted paths of the strings (keys included) in a JSON value that contain U+0000.

    PostgreSQL cannot store NUL in text, so such input is refused up front (422)
    instead of failing in the database.
    """
    found: list[str] = []
    if isinstance(value, str):
        if "\x00" in value:
            found.append(path or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            key_path = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                found.append(key_path)
            found.extend(_fields_with_nul(item, key_path))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_fields_with_nul(item, f"{path}.{index}" if path else str(index)))
    return found


def reject_nul_in_params() -> None:
    """Keep NUL out of parameters: no database stores it as text (PostgreSQL refuses it).

    Query-string values only ever filter or search, so NUL is dropped from them; a page's
    form data is meant to be stored, so a form carrying NUL is refused (400). API bodies
    are JSON and are checked field by field in :func:`check_api_body`.
    """
    query = request.environ.get("QUERY_STRING", "")
    # Only "%00" (or a raw NUL) decodes to NUL: other query strings need no parsing here.
    if "%00" in query or "\x00" in query:
        args = request.args
        if any("\x00" in k or "\x00" in v for k, v in args.items(multi=True)):
            request.args = ImmutableMultiDict(
                [(k.replace("\x00", ""), v.replace("\x00", "")) for k, v in args.items(multi=True)]
            )
    if request.mimetype in FORM_TYPES and not request.path.startswith("/api/"):
        if any("\x00" in k or "\x00" in v for k, v in request.form.items(multi=True)):
            abort(400, "Form fields may not contain NUL characters.")


FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
