"""Account services: registration, credentials, API tokens.

Services take plain arguments, flush but never commit, and raise ``shop.exceptions``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from shop.auth.models import ROLES, SCOPES, ApiToken, User
from shop.dbtypes import utcnow
from shop.exceptions import Conflict, Unauthorized, ValidationFailed
from shop.extensions import db

TOKEN_PREFIX = "shop_"
#: Scopes each role may hold; a token never exceeds its owner's role.
ROLE_SCOPES = {
    "customer": ("read", "orders"),
    "staff": ("read", "orders", "catalog-write"),
    "admin": ("read", "orders", "catalog-write"),
}
# A fixed hash to compare against when the e-mail is unknown, so both failures cost the same.
_DUMMY_HASH = generate_password_hash("not-a-real-password-for-timing")


def normalize_email(email: str) -> str:
    """Trim and lower-case an e-mail address so ``A@x.com`` and ``a@x.com`` are one account."""
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    """Hash with Werkzeug's default scheme (scrypt)."""
    return generate_password_hash(password)


def sha256_hex(secret: str) -> str:
    """SHA-256 hex digest of a token secret (tokens are random, so no salt is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def get_user_by_email(email: str) -> User | None:
    """Return the account with this (normalized) e-mail, or None."""
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def register_user(email: str, password: str, name: str = "", role: str = "customer") -> User:
    """Create an account.

    Raises:
        ValidationFailed: bad role.
        Conflict: the e-mail is already registered.
    """
    if role not in ROLES:
        raise ValidationFailed("Unknown role.", {"role": [f"Must be one of {', '.join(ROLES)}."]})
    email = normalize_email(email)
    if get_user_by_email(email) is not None:
        raise Conflict("An account with this e-mail already exists.", {"email": ["Already registered."]})
    user = User(email=email, name=(name or "").strip(), password_hash=hash_password(password), role=role)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User:
    """Check credentials.

    Raises:
        Unauthorized: the same message for an unknown e-mail and a wrong password.
    """
    user = get_user_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        raise Unauthorized("Invalid e-mail or password.")
    if not check_password_hash(user.password_hash, password or "") or not user.is_active:
        raise Unauthorized("Invalid e-mail or password.")
    return user


def create_api_token(user: User, name: str = "", scopes: list[str] | None = None,
                     ttl: timedelta | None = None) -> tuple[ApiToken, str]:
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
    """Revoke one of the user's tokens.

    Raises:
        NotFound: no such token for this user (another user's token is "not found").
    """
    from shop.exceptions import NotFound

    token = db.session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if token is None:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token
