"""The two guards that keep one intention to one order.

- HTML form: a signed one-time *checkout token* carries the pre-drawn order number; the
  order's unique ``number`` consumes it in the checkout's transaction, so a double submit
  or a reload finds the order already placed.
- API: ``Idempotency-Key`` rows (unique per user and key) remember the order a key made;
  the same key with another body is refused.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select

from shop.dbtypes import utcnow
from shop.exceptions import ValidationFailed
from shop.extensions import db
from shop.orders import services
from shop.orders.models import IdempotencyKey, Order

_TOKEN_SALT = "shop.checkout-token"
CHECKOUT_TOKEN_MAX_AGE = 24 * 3600


# --- One-time checkout tokens (HTML form) ------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)


def new_checkout_token() -> str:
    """A signed token carrying a fresh order number, for one checkout form."""
    return _serializer().dumps(services.new_order_number())


def read_checkout_token(token: str) -> str:
    """The order number inside a checkout token.

    Raises:
        ValidationFailed: forged, malformed or older than a day.
    """
    try:
        number = _serializer().loads(token or "", max_age=CHECKOUT_TOKEN_MAX_AGE)
    except SignatureExpired:
        raise ValidationFailed(
            "This checkout page has expired; please review your order and confirm again."
        ) from None
    except BadSignature:
        raise ValidationFailed(
            "This checkout form is not valid; please review your order and confirm again."
        ) from None
    if not isinstance(number, str) or services.normalize_order_number(number) != number:
        raise ValidationFailed("This checkout form is not valid; please review your order and confirm again.")
    return number


# --- Idempotency keys (API) --------------------------------------------------------------------


def request_fingerprint(body: dict) -> str:
    """SHA-256 of a validated request body in canonical JSON (key order does not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_idempotency_key(key: str) -> str:
    """Validate an ``Idempotency-Key`` header value.

    Raises:
        ValidationFailed: empty, longer than 255 characters or not printable ASCII.
    """
    if not key or len(key) > 255 or not all(32 < ord(c) < 127 for c in key):
        raise ValidationFailed(
            "Invalid Idempotency-Key header.",
            {"Idempotency-Key": ["1 to 255 printable ASCII characters, no spaces."]},
        )
    return key


def find_idempotent_order(user_id: int, key: str, fingerprint: str) -> Order | None:
    """The order an earlier request with this key made, if the key is still kept.

    A key older than ``IDEMPOTENCY_KEY_TTL`` (at least 24 hours) is forgotten (deleted).

    Raises:
        ValidationFailed: the key was used with a different body (422).
    """
    row = db.session.scalar(
        select(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )
    if row is None:
        return None
    ttl = max(current_app.config.get("IDEMPOTENCY_KEY_TTL", timedelta(hours=24)), timedelta(hours=24))
    if row.created_at < utcnow() - ttl:
        db.session.delete(row)
        db.session.flush()
        return None
    if row.request_hash != fingerprint:
        raise ValidationFailed(
            "This Idempotency-Key was already used with a different request body.",
            {"Idempotency-Key": ["Already used with a different body; use a new key."]},
        )
    return db.session.get(Order, row.order_id) if row.order_id else None


def purge_idempotency_keys() -> int:
    """Delete keys older than ``IDEMPOTENCY_KEY_TTL`` (never younger than 24 h). Returns the count."""
    ttl = max(current_app.config.get("IDEMPOTENCY_KEY_TTL", timedelta(hours=24)), timedelta(hours=24))
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - ttl))
    return result.rowcount or 0
