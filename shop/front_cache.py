"""The front cache: a public page that is still current is answered before Flask dispatches
the request.

A cached public page (``shop.http_caching``: the same for every visitor without a session)
is already read from the cache in one round trip, but the request still went through
Flask's dispatch and some twenty request hooks (session, CSRF, security headers, caching
headers, audit, jobs...), which cost more than the read itself. :class:`FrontCache` is a
WSGI middleware around the Flask app that learns, per URL, which cache entry a public page
was served from and the headers Flask sent with it; the next anonymous ``GET`` or ``HEAD``
of that URL reads the entry with :func:`shop.cache.current_entry` (the same check as the
page itself makes: the catalog version and the stock stamps of every product the page
shows, in one round trip) and, if it is still current, answers with the entry's bytes, its
ETag, and the learned headers (security headers, ``Cache-Control``, ``Vary``), with a fresh
``Date``; a matching ``If-None-Match`` gets a 304 without a body, as
``Response.make_conditional`` answers it (RFC 9110 section 13.1.2, weak comparison).
Anything else (an entry gone stale, the cache down, a URL not learned yet) goes to Flask,
which rebuilds the page and stores it as before. So a visitor sees exactly what Flask
would have answered, only sooner: stock and prices are as fresh as on a page built by
Flask.

What may be answered here, and what never is:

- only a request without a session or remember-me cookie and without an ``Authorization``
  header (:func:`shop.http_caching.carries_credentials`), for a URL whose
  last answer by Flask was a 200 marked ``public`` with no ``Set-Cookie``, served from an
  entry that the view named with :func:`serve_public_entry`. A personal page is never
  learned, and a request that might be personal never reaches the learned answers.
- a JSON API answer only while rate limits are off (``RATELIMIT_ENABLED=false``): with
  them on, the API's limits count every request, GETs included (``shop.auth.throttle``),
  and counting needs Flask-Limiter in Flask, so the catalog API's cached answers are then
  served by Flask (``shop.catalog.api``). Browsing pages carry no limit (every page limit
  is on POSTs), so skipping Flask for them skips no count.
- the liveness probe (``/healthz``): its answer is constant (:func:`serve_constant`), so it
  is replayed as learned: the process answers, which is all that probe asks.

The learned headers are kept per process for at most ``ROUTE_LIMIT`` URLs (then the memory
starts afresh); identical header lists are shared. ``FRONT_CACHE_ENABLED=False`` turns the
front cache off.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable

from flask import Flask, Response, current_app, request
from werkzeug.http import generate_etag, http_date, parse_etags, remove_entity_headers

from shop.cache import Stamped, cached_entries, current_entry
from shop.http_caching import carries_credentials

#: Where a view names the cache entry its public answer came from (see :func:`serve_public_entry`).
ENTRY_KEY = "shop.front_entry"
#: The entry name of a constant answer (:func:`serve_constant`).
CONSTANT = ("constant",)
#: At most this many URLs' headers are remembered per process.
ROUTE_LIMIT = 8192
#: Headers set afresh on each answer, never learned.
_PER_ANSWER = frozenset({"date", "content-length", "etag"})

Route = tuple[str, str, str, str]
StartResponse = Callable[..., Any]


def serve_public_entry(parts: tuple) -> None:
    """Tell the front cache that this request's answer is the cached entry ``parts``
    (``(body bytes, etag)``, stored by :func:`shop.cache.cached_entries`), so the next
    anonymous request for the same URL may be answered from that entry while it is
    current. Call it only on a public request (``shop.http_caching.public_request``)."""
    request.environ[ENTRY_KEY] = parts


def public_page(build: Callable[[], tuple[str, dict[int, int] | None]]) -> Response:
    """A public page (``shop.http_caching.public_request``), from the cache when it can be.

    Such a page is the same for every visitor without a session (no cart, no form token, no
    account, no flashed message), so it is cached whole, keyed by its URL, under the catalog
    version and the stock stamps of every product it shows (``build()`` returns
    ``(html, {product_id: stamp})``, the stamps read before the stock): as UTF-8 bytes with
    their ETag, so a cache hit neither encodes nor hashes the page again (a listing page is
    some 45 kB), and the front cache may answer the next request for it
    (:func:`serve_public_entry`).
    """

    def produce(values, stamps) -> Stamped:
        html, page_stamps = build()
        body = html.encode()
        return Stamped((body, generate_etag(body)), page_stamps)

    parts = ("page-bytes", request.full_path)
    body, etag = cached_entries({"page": (parts, produce)})["page"]
    serve_public_entry(parts)
    response = current_app.response_class(body, mimetype="text/html")
    response.set_etag(etag)  # the ETag shop.http_caching would have computed from the body
    return response


def serve_constant() -> None:
    """Tell the front cache that this request's answer never changes (a liveness probe):
    it is replayed as it is for later anonymous requests of the same URL."""
    request.environ[ENTRY_KEY] = CONSTANT


class _Learned:
    """What Flask answered for one URL: the entry it came from, the headers to send again,
    and (for a constant answer) the status and the body."""

    __slots__ = ("parts", "headers", "status", "body")

    def __init__(self, parts: tuple, headers: tuple, status: str, body: bytes | None):
        self.parts = parts
        self.headers = headers
        self.status = status
        self.body = body


class FrontCache:
    """WSGI middleware answering anonymous requests for learned public pages (see the module
    docstring). ``app`` is the Flask app (for its config and an app context), ``wsgi_app``
    the WSGI callable it wraps (Flask's own ``wsgi_app``)."""

    def __init__(self, app: Flask, wsgi_app: Callable[[dict, StartResponse], Iterable[bytes]]):
        self.app = app
        self.wsgi_app = wsgi_app
        self.routes: dict[Route, _Learned] = {}
        self._headers: dict[tuple, tuple] = {}
        self._date: tuple[int, str] = (0, "")

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        """Answer from a learned entry when it can be; otherwise let Flask answer (and learn)."""
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or self._personal(environ):
            return self.wsgi_app(environ, start_response)
        route = self._route(environ)
        learned = self.routes.get(route)
        if learned is not None:
            answer = self._replay(learned, environ, start_response)
            if answer is not None:
                return answer
        return self._learn(route, environ, start_response)

    def _personal(self, environ: dict) -> bool:
        """Whether the request may be personal (``shop.http_caching.carries_credentials``)."""
        return carries_credentials(environ, self.app.config)

    @staticmethod
    def _route(environ: dict) -> Route:
        return (
            environ.get("wsgi.url_scheme", "http"),
            environ.get("HTTP_HOST", ""),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
        )

    def _now(self) -> str:
        """The ``Date`` header (formatted once a second)."""
        second = int(time.time())
        if self._date[0] != second:
            self._date = (second, http_date(second))
        return self._date[1]

    def _replay(self, learned: _Learned, environ: dict, start_response: StartResponse) -> list[bytes] | None:
        """The answer from the learned entry, or None when it is not current (Flask answers)."""
        if learned.parts == CONSTANT:
            body, etag, status = learned.body or b"", None, learned.status
        else:
            with self.app.app_context():
                entry = current_entry(learned.parts)
            if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], bytes)):
                return None
            (body, etag), status = entry, "200 OK"
        headers = list(learned.headers)
        headers.append(("Date", self._now()))
        if etag is not None:
            headers.append(("ETag", f'"{etag}"'))
            match = environ.get("HTTP_IF_NONE_MATCH")
            if match and parse_etags(match).contains_weak(etag):
                remove_entity_headers(headers)
                start_response("304 NOT MODIFIED", headers)
                return []
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _learn(self, route: Route, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        """Flask's answer, passed on; remembered when the view named its entry and the
        answer is a public 200 without a cookie."""
        seen: dict[str, Any] = {}

        def remember(status: str, headers: list, exc_info=None):
            seen["status"], seen["headers"] = status, headers
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        answer = self.wsgi_app(environ, remember)
        parts = environ.get(ENTRY_KEY)
        status, headers = seen.get("status", ""), seen.get("headers", [])
        if parts is None or not status.startswith("200") or not _public(headers, parts != CONSTANT):
            return answer
        if parts == CONSTANT:
            body = b"".join(answer)
            if hasattr(answer, "close"):
                answer.close()
            if environ["REQUEST_METHOD"] == "HEAD":
                return [body]  # nothing learned: a HEAD answer has no body to replay
            self._keep(route, _Learned(CONSTANT, self._shared(headers, keep_etag=True), status, body))
            return [body]
        self._keep(route, _Learned(parts, self._shared(headers), status, None))
        return answer

    def _shared(self, headers: list, keep_etag: bool = False) -> tuple:
        """The headers to send again (without those set per answer), one object per distinct list."""
        drop = _PER_ANSWER - {"etag"} if keep_etag else _PER_ANSWER
        kept = tuple((k, v) for k, v in headers if k.lower() not in drop)
        return self._headers.setdefault(kept, kept)

    def _keep(self, route: Route, learned: _Learned) -> None:
        if len(self.routes) >= ROUTE_LIMIT:
            self.routes.clear()
            self._headers.clear()
        self.routes[route] = learned


def _public(headers: list, parts_needed: bool = True) -> bool:
    """Whether an answer's headers allow anyone to be given it: no cookie is set, and
    ``Cache-Control`` says ``public`` (``shop.http_caching.caching_headers``); for a
    constant answer (``parts_needed`` false), neither ``private`` nor ``no-store``."""
    control = ""
    for key, value in headers:
        low = key.lower()
        if low == "set-cookie":
            return False
        if low == "cache-control":
            control = value
    return "public" in control if parts_needed else "private" not in control and "no-store" not in control


def install_front_cache(app: Flask) -> None:
    """Put :class:`FrontCache` around the app's WSGI callable (unless
    ``FRONT_CACHE_ENABLED`` is false). Call it before any middleware that rewrites the
    environ (``ProxyFix``), so the cache sees the scheme and host that Flask sees."""
    if app.config.get("FRONT_CACHE_ENABLED", True):
        app.wsgi_app = FrontCache(app, app.wsgi_app)
