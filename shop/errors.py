"""One error handler for the whole app: problem+json for API clients, a page otherwise."""

from __future__ import annotations

import http
from urllib.parse import quote

import marshmallow as ma
from flask import Flask, current_app, render_template, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException, InternalServerError, RequestURITooLarge

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
    return render_template("errors/error.html", error=exc), exc.code, headers


def handle_shop_error(exc: ShopError):
    """Render a domain error that a view let through."""
    if wants_json():
        return problem(exc.status, exc.title, exc.detail, exc.errors or None, exc.type_slug)
    return render_template("errors/error.html", error=exc, status=exc.status), exc.status


def handle_unexpected(exc: Exception):
    """Log an unexpected exception and answer 500 without leaking details."""
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    current_app.logger.exception("Unhandled exception")
    return handle_http_exception(InternalServerError())


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
