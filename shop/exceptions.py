"""Domain exceptions raised by services.

Views map them to a flash message and status (HTML); ``shop.errors`` renders them as
``application/problem+json`` (RFC 9457) for API clients. Each carries an HTTP status,
a short title, a human-readable detail and optional field errors.
"""

from __future__ import annotations


class ShopError(Exception):
    """Base class: a rule of the shop refused the operation.

    Attributes:
        status: HTTP status that best describes the failure.
        title: short, fixed summary of the problem type.
        detail: message for the user (safe to show).
        errors: optional ``{field: [messages]}``.
    """

    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(self, detail: str | None = None, errors: dict[str, list[str]] | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or {}


class ValidationFailed(ShopError):
    """Input failed a rule (422)."""

    status = 422
    title = "Invalid input"
    type_slug = "validation-error"


class NotFound(ShopError):
    """The resource does not exist or is not the caller's (404)."""

    status = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(ShopError):
    """The request conflicts with the current state (409)."""

    status = 409
    title = "Conflict"
    type_slug = "conflict"


class OutOfStock(Conflict):
    """Not enough stock for the requested quantity (409)."""

    title = "Out of stock"
    type_slug = "out-of-stock"


class StaleWrite(Conflict):
    """The value changed since the client read it (409, compare-and-swap failed)."""

    title = "Stale write"
    type_slug = "stale-write"


class InvalidTransition(Conflict):
    """An order status change that the lifecycle does not allow (409)."""

    title = "Invalid status transition"
    type_slug = "invalid-transition"


class Unauthorized(ShopError):
    """Missing or wrong credentials (401)."""

    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class Forbidden(ShopError):
    """Authenticated but not allowed (403)."""

    status = 403
    title = "Forbidden"
    type_slug = "forbidden"
