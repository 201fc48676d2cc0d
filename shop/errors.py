"""One error handler for the whole app: problem+json for API clients, a page otherwise."""

from __future__ import annotations

import http
from urllib.parse import quote

import marshmallow as ma
from flask import Flask, current_app, render_template, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    RequestURITooLarge,
    ServiceUnavailable,
)

from shop.apidoc import ApiConventions
from shop.exceptions import ShopError

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://shop.example/problems/"


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, the body of every API error (OpenAPI documentation)."""

    class Meta:
        """Problems may carry extension members (RFC 9457, section 3.2)."""

        unknown = ma.INCLUDE

    type = ma.fields.String(required=True, metadata={"description": "URI of the problem type"})
    title = ma.fields.String(required=True, metadata={"description": "Short summary"})
    status = ma.fields.Integer(required=True, metadata={"description": "HTTP status code"})
    detail = ma.fields.String(metadata={"description": "What went wrong, for humans"})
    errors = ma.fields.Dict(metadata={"description": "Field errors: {field: [messages]}"})


class ProblemApi(Api):
    """flask-smorest ``Api`` whose documented errors are problem+json, with bearer auth.

    Every operation's ``default`` response (and the per-status responses that
    ``@arguments``/``alt_response`` reference) is ``application/problem+json`` with
    :class:`ProblemSchema`, which is what :func:`handle_http_exception` sends.
    """

    ERROR_SCHEMA = ProblemSchema
    BEARER_SCHEME = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from POST /api/v1/auth/tokens.",
    }

    def _init_spec(self, **options):
        """Build the spec with the API-wide conventions (:class:`shop.apidoc.ApiConventions`)."""
        options["extra_plugins"] = [*options.get("extra_plugins", ()), ApiConventions(self._app.config)]
        super()._init_spec(**options)

    def _register_responses(self):
        """Register the error responses as problem+json (replaces flask-smorest's JSON ones)."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error (problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)
        self.spec.components.security_scheme("bearerAuth", self.BEARER_SCHEME)


def wants_json() -> bool:
    """True for API paths and clients that prefer JSON over HTML."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def problem(
    status: int,
    title: str,
    detail: str = "",
    errors: dict | None = None,
    type_slug: str | None = None,
    headers: dict | None = None,
):
    """Build an RFC 9457 problem+json response tuple ``(body, status, headers)``."""
    body = {
        "type": PROBLEM_BASE + (type_slug or str(status)),
        "title": title,
        "status": status,
        "detail": detail or title,
    }
    if errors:
        body["errors"] = errors
    out_headers = {"Content-Type": PROBLEM_JSON}
    if headers:
        out_headers.update(headers)
    return body, status, out_headers


def _field_errors(exc: HTTPException) -> dict | None:
    """Pull webargs/marshmallow field errors out of an abort(422) into ``{field: [msgs]}``."""
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if not messages:
        return None
    # webargs nests by location: {"json": {"field": [...]}}; flatten the location level.
    flat: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def _limit_window(exc: HTTPException) -> int | None:
    """Seconds of a breached Flask-Limiter limit's window (a fallback for ``Retry-After``;
    the limiter's own header, when present, is more precise and replaces it)."""
    limit = getattr(getattr(exc, "limit", None), "limit", None)
    try:
        return int(limit.get_expiry()) if limit is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def database_unavailable(exc: BaseException) -> bool:
    """True for errors that say the database cannot be used right now (refused or lost
    connection, connect or pool timeout, statement timeout, SQLite locked), as opposed to
    a bug or bad data. Such a request is answered 503 with ``Retry-After``, not 500."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


def unavailable() -> ServiceUnavailable:
    """The 503 for "the database is unreachable", with ``UNAVAILABLE_RETRY_AFTER`` seconds."""
    detail = "The shop cannot reach its database at the moment. Please try again in a few seconds."
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        # The connection may have died after the commit and before its acknowledgement.
        detail += (
            " This request may or may not have been applied: send it again with the same"
            " Idempotency-Key to find out."
        )
    return ServiceUnavailable(detail, retry_after=current_app.config.get("UNAVAILABLE_RETRY_AFTER", 10))


def static_error_page(code: int, title: str, detail: str) -> str:
    """The error page that needs neither database nor cache: ``errors/static.html`` rendered
    without the context processors (which load the user and the cart) or the shop layout
    (which lists the categories)."""
    template = current_app.jinja_env.get_template("errors/static.html")
    return template.render(code=code, title=title, detail=detail, shop_name=current_app.config["SHOP_NAME"])


def _error_page(exc: HTTPException, headers: dict):
    """The HTML answer for ``exc``: the shop's error page, or the static one for a 503 or
    when the shop's page cannot be drawn (a 503 then, if the database is the reason)."""
    code = exc.code or 500
    if code != 503:
        try:
            return render_template("errors/error.html", error=exc), code, headers
        except Exception as render_error:
            if not database_unavailable(render_error):
                current_app.logger.exception("The error page failed; answering the static one")
                return static_error_page(code, exc.name, exc.description or ""), code, headers
            current_app.logger.warning("Database unavailable: %s", render_error.__class__.__name__)
            exc = unavailable()
            code = 503
            headers = {**headers, "Retry-After": str(exc.retry_after)}
    return static_error_page(code, exc.name, exc.description or ""), code, headers


def handle_http_exception(exc: HTTPException):
    """Render any HTTP error as problem+json (API) or the error page (HTML)."""
    headers = {}
    if exc.code == 429 or exc.code == 503:
        retry_after = None
        if exc.response is not None:
            retry_after = exc.response.headers.get("Retry-After")
        retry_after = retry_after or getattr(exc, "retry_after", None) or _limit_window(exc)
        if retry_after:
            headers["Retry-After"] = str(retry_after)
    if exc.code == 405 and exc.valid_methods:
        headers["Allow"] = ", ".join(exc.valid_methods)
    if wants_json():
        errors = _field_errors(exc)
        detail = exc.description or exc.name
        if exc.code == 400 and errors:
            detail = "The request body is not valid JSON."
        elif exc.code == 422 and errors:
            detail = "Some fields are invalid; see 'errors'."
        elif exc.code == 413:
            detail = (
                f"The request body is larger than {current_app.config.get('MAX_CONTENT_LENGTH')} bytes."
                if "larger than" not in (exc.description or "")
                else exc.description
            )
        return problem(exc.code or 500, exc.name, detail, errors, headers=headers)
    return _error_page(exc, headers)


def handle_shop_error(exc: ShopError):
    """Render a domain error that a view let through."""
    if wants_json():
        return problem(exc.status, exc.title, exc.detail, exc.errors or None, exc.type_slug)
    try:
        return render_template("errors/error.html", error=exc, status=exc.status), exc.status
    except Exception as render_error:
        if database_unavailable(render_error):
            return handle_http_exception(unavailable())
        current_app.logger.exception("The error page failed; answering the static one")
        return static_error_page(exc.status, exc.title, exc.detail), exc.status


def handle_unexpected(exc: Exception):
    """Answer 503 (with ``Retry-After``) when the database is unreachable; otherwise log the
    exception and answer 500 without leaking details."""
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    if database_unavailable(exc):
        # One line, not a traceback per request: during an outage every request lands here.
        current_app.logger.warning("Database unavailable: %s", _first_line(exc))
        return handle_http_exception(unavailable())
    current_app.logger.exception("Unhandled exception")
    return handle_http_exception(InternalServerError())


def _first_line(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def refuse_long_urls() -> None:
    """Refuse a URL longer than ``MAX_URL_LENGTH`` bytes with 414 (problem+json for the API).

    gunicorn answers a request line past its ``limit_request_line`` (4094 bytes by default)
    with its own HTML page; a lower limit here makes the app answer first, in its own format.
    """
    limit = current_app.config.get("MAX_URL_LENGTH")
    environ = request.environ
    # RAW_URI is the target as sent (gunicorn, Werkzeug); the test client's lacks the query.
    path = (environ.get("RAW_URI") or quote(environ.get("PATH_INFO", ""))).split("?", 1)[0]
    query = environ.get("QUERY_STRING", "")
    length = len(path) + (len(query) + 1 if query else 0)
    if limit and length > limit:
        raise RequestURITooLarge(f"The URL is {length} bytes long; at most {limit} are accepted.")


def register_error_handlers(app: Flask) -> None:
    """Install the handlers (after flask-smorest, whose own handler this replaces), and the
    over-long URL check, which answers through them."""
    app.before_request(refuse_long_urls)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ShopError, handle_shop_error)
    app.register_error_handler(Exception, handle_unexpected)
