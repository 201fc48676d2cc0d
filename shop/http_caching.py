"""HTTP caching of public pages: validators (ETag), conditional requests (304) and the
``Cache-Control`` that lets a shared cache or CDN keep them, but never a personal page.

A response is *personal* when the request carried a session, a remember-me cookie or an
``Authorization`` header, or when the response sets a cookie: it may show a cart, a form
token or an account, so it is ``private, no-store``. The catalog and search pages and JSON
answered to a visitor without any of these are *public*: ``public, no-cache`` (any cache may
store them but must revalidate each time, so nobody is shown stock or prices older than
the shop's own cache), ``Vary: Cookie`` (a visitor with a session never gets the public
copy) and an ``ETag``; a request whose ``If-None-Match`` matches is answered 304 without a
body (RFC 9110 section 13, RFC 9111 section 5.2.2).

A browsing visitor gets no session (and so no cookie) at all: the pages they see carry no
form token (:func:`form_token`), and their first "Add to cart" is checked by its origin
instead (``shop.security.protect_first_cart_add``).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request, session
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.http import http_date, parse_cookie

from shop.page_shell import CSRF_MARK, rendering_shell

#: Endpoints whose GET answers are the same for every visitor without a session.
PUBLIC_ENDPOINTS = frozenset(
    {
        "catalog.home",
        "catalog.product_list",
        "catalog.category",
        "catalog.product_detail",
        "search.results",
        "catalog_api.categories",
        "catalog_api.products",
        "catalog_api.product",
        "search_api.search",
        "search_api.suggest",
    }
)


def init_http_caching(app: Flask) -> None:
    """Make ``csrf_token()`` in templates session-free on public pages and add the caching
    headers to every answer."""
    # Flask-WTF offers generate_csrf both ways; a later context processor wins.
    app.jinja_env.globals["csrf_token"] = form_token
    app.context_processor(lambda: {"csrf_token": form_token})
    app.after_request(caching_headers)


def has_session() -> bool:
    """Whether this visitor has a session or a login (cookies, or a bearer token)."""
    return bool(session) or _carries_credentials()


#: Where :func:`carries_credentials` keeps its answer for the rest of the request.
_CREDENTIALS_KEY = "shop.carries_credentials"


def carries_credentials(environ: dict, config) -> bool:
    """Whether a request (its WSGI ``environ``) carries a session or remember-me cookie (the
    names in the app's ``config``) or an ``Authorization`` header: anything that may make
    its answer personal. Asked several times per request (the front cache, the cache
    lookup, the page, the caching headers) and fixed for the request, so it is worked out
    once and kept in the environ."""
    known = environ.get(_CREDENTIALS_KEY)
    if known is None:
        raw = environ.get("HTTP_COOKIE")
        cookies = parse_cookie(raw) if raw else {}
        known = environ[_CREDENTIALS_KEY] = (
            config["SESSION_COOKIE_NAME"] in cookies
            or config.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies
            or "HTTP_AUTHORIZATION" in environ
        )
    return known


def _carries_credentials() -> bool:
    """:func:`carries_credentials` of the current request."""
    return carries_credentials(request.environ, current_app.config)


def public_request() -> bool:
    """A GET of a public page or JSON by a visitor without a session."""
    return request.method in ("GET", "HEAD") and request.endpoint in PUBLIC_ENDPOINTS and not has_session()


#: Endpoints whose pages (an error page included) need no form token for a visitor without
#: a session: the public ones, an unknown URL (404), and the first add-to-cart (an error
#: page when refused; a redirect otherwise).
TOKENLESS_ENDPOINTS = PUBLIC_ENDPOINTS | {None, "orders.cart_add"}


def form_token() -> str:
    """The CSRF token for a form on this page (Flask-WTF's ``generate_csrf``), or ``""`` on
    a public page (or its error page) for a visitor without a session: making a token would
    start a session and set a cookie, which would make the page personal. While a page
    shell is rendered, the mark that stands for the token (:mod:`shop.page_shell`)."""
    if rendering_shell():
        return Markup(CSRF_MARK)
    if request.endpoint in TOKENLESS_ENDPOINTS and not has_session():
        return ""
    return generate_csrf()


def caching_headers(response: Response) -> Response:
    """``Cache-Control``, ``Vary`` and ``ETag`` (see the module docstring); answers 304 to a
    matching conditional GET of a public page. A response that already says how it may be
    cached (static files, downloads) is left alone."""
    if "Cache-Control" in response.headers or request.endpoint == "static":
        return response
    personal = has_session() or "Set-Cookie" in response.headers
    if personal:
        response.headers["Cache-Control"] = "private, no-store"
        return response
    # Not personal: a GET of a public endpoint is a public request (public_request()).
    public = request.method in ("GET", "HEAD") and request.endpoint in PUBLIC_ENDPOINTS
    if response.status_code != 200 or not public or response.is_streamed:
        return response
    response.headers["Cache-Control"] = "public, no-cache"
    response.vary.update(("Cookie", "Authorization") if request.path.startswith("/api/") else ("Cookie",))
    response.add_etag()
    environ = request.environ
    if "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ:
        return response.make_conditional(request)
    # Without a condition no 304 is possible; what make_conditional would still do is date it.
    if "Date" not in response.headers:
        response.headers["Date"] = http_date()
    return response
