"""Password policy and hashing.

Rule (DESIGN): passwords are hashed with a modern scheme (scrypt through Werkzeug), are at
least 8 characters long and are not among the 10,000 most common passwords
(``data/common-passwords.txt.gz``, see ``data/README.md`` for its source).
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from flask import current_app, has_app_context
from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 8
#: scrypt's cost is bounded by its memory use; very long inputs only waste CPU.
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).with_name("data") / "common-passwords.txt.gz"
DEFAULT_HASH_METHOD = "scrypt"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip().lower() for line in fh if line.strip())


def password_problems(password: str, email: str = "") -> list[str]:
    """Return the reasons ``password`` breaks the policy (an empty list when it is fine).

    Args:
        password: the candidate password.
        email: the account's e-mail; a password equal to it or to its local part is refused.
    """
    password = password or ""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    elif len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    lowered = password.strip().lower()
    if lowered in common_passwords():
        problems.append("This password is too common; choose another.")
    elif email and lowered in {email.strip().lower(), email.strip().lower().split("@")[0]}:
        problems.append("The password must not be your e-mail address.")
    return problems


def hash_method() -> str:
    """The Werkzeug hash method from ``PASSWORD_HASH_METHOD`` (default: scrypt)."""
    if has_app_context():
        return current_app.config.get("PASSWORD_HASH_METHOD") or DEFAULT_HASH_METHOD
    return DEFAULT_HASH_METHOD


def hash_password(password: str) -> str:
    """Hash a password with the configured scrypt parameters (salted, self-describing)."""
    return generate_password_hash(password, method=hash_method())


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    """A hash to check against when the account is unknown, so both failures cost the same."""
    return generate_password_hash("not-a-real-password-for-timing", method=method)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password`` against a stored hash; with no hash, spend the same time and fail."""
    if not password_hash:
        check_password_hash(_dummy_hash(hash_method()), password or "")
        return False
    return check_password_hash(password_hash, password or "")
