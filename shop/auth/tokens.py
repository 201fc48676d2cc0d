"""API tokens: creating (the secret shown once, only its SHA-256 kept), authenticating a
bearer, listing and revoking, each creation and revocation in the audit log.

Services take plain arguments, flush but never commit, and raise ``shop.exceptions``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from shop import audit
from shop.auth.models import SCOPES, ApiToken, User
from shop.dbtypes import utcnow
from shop.exceptions import NotFound, Unauthorized, ValidationFailed
from shop.extensions import db

TOKEN_PREFIX = "shop_"
#: Scopes each role may hold; a token never exceeds its owner's role.
ROLE_SCOPES = {
    "customer": ("read", "orders"),
    "staff": ("read", "orders", "catalog-write"),
    "admin": ("read", "orders", "catalog-write"),
}


def sha256_hex(secret: str) -> str:
    """SHA-256 hex digest of a token secret (tokens are random, so no salt is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(
    user: User, name: str = "", scopes: list[str] | None = None, ttl: timedelta | None = None
) -> tuple[ApiToken, str]:
    """Create a bearer token for ``user``.

    Args:
        scopes: subset of :data:`SCOPES`; None means every scope the user's role allows.
        ttl: lifetime; None means no expiry.
    Returns:
        ``(token_row, secret)``; the secret is shown once and never stored.
    Raises:
        ValidationFailed: unknown scope, or a scope the user's role does not allow.
    """
    allowed = ROLE_SCOPES[user.role]
    if scopes is None:
        scopes = list(allowed)
    bad = [s for s in scopes if s not in SCOPES or s not in allowed]
    if bad or not scopes:
        raise ValidationFailed(
            "Invalid scopes.", {"scopes": [f"Allowed for this account: {', '.join(allowed)}."]}
        )
    if ttl is not None and ttl <= timedelta(0):
        raise ValidationFailed("Invalid lifetime.", {"expires_in_days": ["Must be positive."]})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=(name or "").strip()[:100],
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=sha256_hex(secret),
        scopes=" ".join(dict.fromkeys(scopes)),
        expires_at=(utcnow() + ttl) if ttl else None,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "token.create",
        "api_token",
        token.id,
        f"{token.prefix}… {token.name}".strip(),
        audit.diff({}, audit.snapshot(token, ("name", "scopes", "expires_at"))),
        user.id,
    )
    return token, secret


def authenticate_bearer(secret: str, now: datetime | None = None) -> ApiToken:
    """Resolve a bearer token secret to its live token row and mark it used.

    Raises:
        Unauthorized: unknown, revoked or expired token, or an inactive owner.
    """
    now = now or utcnow()
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == sha256_hex(secret or "")))
    if token is None or token.revoked_at is not None:
        raise Unauthorized("Invalid or revoked token.")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthorized("Token expired.")
    if not token.user.is_active:
        raise Unauthorized("Account disabled.")
    token.last_used_at = now
    return token


def revoke_api_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's tokens (idempotent).

    Raises:
        NotFound: no such token for this user (another user's token is "not found").
    """
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        audit.record(
            "token.revoke",
            "api_token",
            token.id,
            f"{token.prefix}… {token.name}".strip(),
            {"revoked_at": [None, token.revoked_at]},
            user.id,
        )
    return token


def revoke_all_api_tokens(
    user: User, now: datetime | None = None, *, actor_id: int | None = None, note: str = ""
) -> int:
    """Revoke every live API token of ``user``, each with a ``token.revoke`` audit entry
    (``actor_id``: who caused it, None for the command line; ``note``: why). Returns how
    many were live."""
    now = now or utcnow()
    live = db.session.execute(
        select(ApiToken.id, ApiToken.prefix, ApiToken.name).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)
        )
    ).all()
    if not live:
        return 0
    # An ORM update, so token rows already loaded in this session see the change too.
    revoked = db.session.execute(
        update(ApiToken)
        .where(ApiToken.id.in_([t.id for t in live]), ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    for token in live:
        label = f"{token.prefix}… {token.name}".strip()
        audit.record(
            "token.revoke", "api_token", token.id, label, {"revoked_at": [None, now]}, actor_id, note
        )
    return revoked


def list_api_tokens(user: User, include_revoked: bool = False) -> list[ApiToken]:
    """The user's tokens, newest first (revoked ones only when asked)."""
    stmt = select(ApiToken).where(ApiToken.user_id == user.id)
    if not include_revoked:
        stmt = stmt.where(ApiToken.revoked_at.is_(None))
    return list(db.session.scalars(stmt.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))
