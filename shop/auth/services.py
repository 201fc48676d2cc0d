"""Account services: registration, credentials, roles, password resets (API tokens:
:mod:`shop.auth.tokens`, re-exported here).

Services take plain arguments, flush but never commit, and raise ``shop.exceptions``.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import Select, func, or_, select

from shop import audit
from shop.auth.logins import end_all_logins
from shop.auth.models import ROLES, PasswordResetToken, User
from shop.auth.passwords import hash_password, password_problems, verify_password
from shop.auth.tokens import (  # noqa: F401  (tokens are this module's too)
    ROLE_SCOPES,
    TOKEN_PREFIX,
    authenticate_bearer,
    create_api_token,
    list_api_tokens,
    revoke_all_api_tokens,
    revoke_api_token,
    sha256_hex,
)
from shop.dbtypes import utcnow
from shop.exceptions import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from shop.extensions import db

__all__ = [
    "ROLE_SCOPES",
    "normalize_email",
    "validate_email_address",
    "hash_password",
    "sha256_hex",
    "get_user_by_email",
    "register_user",
    "authenticate",
    "set_password",
    "set_role",
    "search_users",
    "create_api_token",
    "authenticate_bearer",
    "revoke_api_token",
    "revoke_all_api_tokens",
    "list_api_tokens",
    "request_password_reset",
    "check_reset_token",
    "reset_password",
]

EMAIL_MAX_LENGTH = 254
INVALID_CREDENTIALS = "Invalid e-mail or password."
INVALID_RESET = "This password reset link is invalid or has expired. Request a new one."


def normalize_email(email: str) -> str:
    """Trim and lower-case an e-mail address so ``A@x.com`` and ``a@x.com`` are one account."""
    return (email or "").strip().lower()


def validate_email_address(email: str) -> str:
    """Check an address's syntax (email-validator, no DNS lookups) and return it normalized.

    Raises:
        ValidationFailed: ``errors["email"]`` says what is wrong.
    """
    raw = (email or "").strip()
    if not raw:
        raise ValidationFailed("E-mail address required.", {"email": ["This field is required."]})
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed("Invalid e-mail address.", {"email": [str(exc)]}) from None
    normalized = normalize_email(result.normalized)
    if len(normalized) > EMAIL_MAX_LENGTH:
        raise ValidationFailed("Invalid e-mail address.", {"email": ["The address is too long."]})
    return normalized


def get_user_by_email(email: str) -> User | None:
    """Return the account with this (normalized) e-mail, or None."""
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def _check_password(password: str, email: str, field: str = "password") -> None:
    """Raise ValidationFailed with ``errors[field]`` when the password breaks the policy."""
    problems = password_problems(password, email)
    if problems:
        raise ValidationFailed("The password does not meet the rules.", {field: problems})


def registration_problems(email: str, password: str, name: str = "") -> dict[str, list[str]]:
    """Every reason a registration with these values would be refused, all at once.

    Returns:
        ``{field: [messages]}`` for ``email`` (syntax, or already registered), ``password``
        (the policy, checked against the e-mail as typed when it is not valid) and ``name``
        (length); empty when the account can be created.
    """
    problems: dict[str, list[str]] = {}
    try:
        email = validate_email_address(email)
    except ValidationFailed as exc:
        problems.update(exc.errors)
        email = (email or "").strip()
    else:
        if get_user_by_email(email) is not None:
            problems["email"] = ["Already registered."]
    password_issues = password_problems(password or "", email)
    if password_issues:
        problems["password"] = password_issues
    if len((name or "").strip()) > 120:
        problems["name"] = ["Use at most 120 characters."]
    return problems


def register_user(email: str, password: str, name: str = "", role: str = "customer") -> User:
    """Create an account with a valid e-mail and a password that meets the policy.

    Every problem is reported together (:func:`registration_problems`), so a form shows
    them all after one submit.

    Raises:
        ValidationFailed: bad e-mail syntax, weak password, name too long or unknown role
            (``errors`` has every field that is wrong).
        Conflict: the e-mail (compared normalized) is already registered and nothing else
            is wrong.
    """
    if role not in ROLES:
        raise ValidationFailed("Unknown role.", {"role": [f"Must be one of {', '.join(ROLES)}."]})
    problems = registration_problems(email, password, name)
    if problems == {"email": ["Already registered."]}:
        raise Conflict("An account with this e-mail already exists.", problems)
    if problems:
        raise ValidationFailed(_registration_detail(problems), problems)
    email = validate_email_address(email)
    user = User(email=email, name=(name or "").strip(), password_hash=hash_password(password), role=role)
    db.session.add(user)
    db.session.flush()
    return user


def _registration_detail(problems: dict[str, list[str]]) -> str:
    """The one-line summary of a refused registration (the API's ``detail``)."""
    if len(problems) > 1:
        return "Please correct the marked fields."
    field = next(iter(problems))
    return {
        "email": "Invalid e-mail address.",
        "password": "The password does not meet the rules.",
        "name": "Name too long.",
    }.get(field, "Please correct the marked fields.")


def authenticate(email: str, password: str) -> User:
    """Check credentials and return the account.

    Raises:
        Unauthorized: the same message for an unknown e-mail, a wrong password and a
            disabled account, so the answer does not reveal which accounts exist.
    """
    user = get_user_by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        raise Unauthorized(INVALID_CREDENTIALS)
    return user


def set_password(
    user: User, password: str, keep_api_tokens: bool = False, *, actor_id: int | None = None, note: str = ""
) -> None:
    """Give ``user`` a new password, end every login of the account on every browser, and
    revoke its API tokens unless ``keep_api_tokens``.

    A new password usually means the old one may be known to someone else, so everything
    it opened ends with it; scripts keep working only when the person says so.

    Audit: a ``user.password`` entry (no values, only that it changed) when the account is
    staff's or admin's or the change comes from the command line (``actor_id`` None), and a
    ``token.revoke`` entry per revoked token (:func:`revoke_all_api_tokens`), with ``note``.

    Raises:
        ValidationFailed: the password breaks the policy.
    """
    _check_password(password, user.email)
    user.password_hash = hash_password(password)
    end_all_logins(user)
    if not keep_api_tokens:
        revoke_all_api_tokens(user, actor_id=actor_id, note=note)
    db.session.flush()
    if actor_id is None or user.is_staff:
        audit.record("user.password", "user", user.id, user.email, None, actor_id, note)


def change_password(
    user: User, current_password: str, new_password: str, keep_api_tokens: bool = False
) -> None:
    """A signed-in person's password change: check the current password, then
    :func:`set_password` (every login of the account ends, API tokens are revoked unless
    ``keep_api_tokens``). The caller starts a fresh login for the browser that asked.

    Raises:
        ValidationFailed: ``errors["current_password"]`` when the current password is
            wrong, ``errors["password"]`` when the new one breaks the policy or is the same.
    """
    if not verify_password(user.password_hash, current_password or ""):
        raise ValidationFailed(
            "The current password is not right.", {"current_password": ["This is not your current password."]}
        )
    if current_password == new_password:
        raise ValidationFailed(
            "The new password is the current one.", {"password": ["Choose a password you do not use now."]}
        )
    set_password(user, new_password, keep_api_tokens=keep_api_tokens)


def set_role(actor: User, user_id: int, role: str) -> User:
    """Change a user's role (admins only); the shop always keeps at least one admin.

    Raises:
        Forbidden: ``actor`` is not an admin.
        ValidationFailed: unknown role.
        NotFound: no such user.
        Conflict: the change would demote the last admin.
    """
    if actor is None or not actor.is_admin:
        raise Forbidden("Only admins can change roles.")
    if role not in ROLES:
        raise ValidationFailed("Unknown role.", {"role": [f"Must be one of {', '.join(ROLES)}."]})
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if user.role == "admin" and role != "admin":
        # Lock the admin rows (PostgreSQL) so two admins cannot demote each other at once.
        admins = db.session.scalars(
            select(User.id).where(User.role == "admin", User.is_active_account.is_(True)).with_for_update()
        ).all()
        if len(admins) <= 1:
            raise Conflict(
                "The shop needs at least one admin; promote someone else first.",
                {"role": ["You are the last admin."]},
            )
    if user.role != role:
        audit.record("user.role", "user", user.id, user.email, {"role": [user.role, role]}, actor.id)
        user.role = role
        # Tokens never exceed the role: drop scopes the new role does not allow.
        allowed = ROLE_SCOPES[role]
        for token in user.tokens:
            kept = [s for s in token.scope_list if s in allowed]
            if not kept:
                token.revoked_at = token.revoked_at or utcnow()
            token.scopes = " ".join(kept) or token.scopes
    db.session.flush()
    return user


def search_users(q: str = "", role: str | None = None) -> Select:
    """A select of users, newest first, filtered by e-mail/name substring and role."""
    stmt = select(User).order_by(User.created_at.desc(), User.id.desc())
    q = (q or "").strip().lower()
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(User.email.like(like, escape="\\"), func.lower(User.name).like(like, escape="\\"))
        )
    if role in ROLES:
        stmt = stmt.where(User.role == role)
    return stmt


def request_password_reset(
    email: str, ip: str | None = None, ttl: timedelta | None = None
) -> tuple[User, str] | None:
    """Create a single-use reset token for the account with this e-mail, if there is one.

    Called by the job that delivers a reset mail (``shop/auth/mails.py``), never by the
    request, so the request does the same work whether or not an account exists. Only the
    token's SHA-256 is stored; older unused tokens of the account stop working.

    Returns:
        ``(user, secret)`` or None when no active account has this e-mail.
    """
    user = get_user_by_email(email)
    if user is None or not user.is_active:
        return None
    now = utcnow()
    ttl = ttl or current_app.config["PASSWORD_RESET_TTL"]
    for old in db.session.scalars(
        select(PasswordResetToken).where(
            PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None)
        )
    ):
        old.used_at = now
    secret = secrets.token_urlsafe(32)
    db.session.add(
        PasswordResetToken(
            user_id=user.id,
            token_hash=sha256_hex(secret),
            expires_at=now + ttl,
            requested_ip=(ip or "")[:64] or None,
        )
    )
    db.session.flush()
    return user, secret


def check_reset_token(secret: str, now: datetime | None = None) -> PasswordResetToken:
    """Return the live reset token for ``secret``.

    Raises:
        ValidationFailed: unknown, already used or expired.
    """
    now = now or utcnow()
    row = db.session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == sha256_hex(secret or ""))
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise ValidationFailed(INVALID_RESET, {"token": [INVALID_RESET]})
    return row


def reset_password(
    secret: str, new_password: str, keep_api_tokens: bool = False, now: datetime | None = None
) -> User:
    """Use a reset token: set the new password, spend the token, end every login of the
    account, and revoke its API tokens unless ``keep_api_tokens`` (see :func:`set_password`).

    Raises:
        ValidationFailed: the token is unknown, used or expired, or the password is weak.
    """
    now = now or utcnow()
    row = check_reset_token(secret, now)
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise ValidationFailed(INVALID_RESET, {"token": [INVALID_RESET]})
    _check_password(new_password, user.email)  # before spending, so a weak choice can retry
    # Spend the token with a guarded UPDATE so two concurrent uses cannot both succeed.
    spent = db.session.execute(
        PasswordResetToken.__table__.update()
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if spent != 1:
        raise ValidationFailed(INVALID_RESET, {"token": [INVALID_RESET]})
    set_password(user, new_password, keep_api_tokens=keep_api_tokens, actor_id=user.id, note="password reset")
    db.session.refresh(row)
    return user
