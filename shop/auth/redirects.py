"""The open-redirect guard: every ``next`` (after login, after adding to the cart) only ever
points inside the site; views read ``next`` through :func:`safe_next_url` and nothing else."""

from __future__ import annotations

from urllib.parse import urlsplit

#: Characters browsers strip or reinterpret inside URLs (``/\\evil.com`` is ``//evil.com``).
_SUSPICIOUS = ("\\", "\t", "\n", "\r", "\x00")


def safe_next_url(target: str | None) -> str | None:
    """Return ``target`` if it is a local path (``/orders?page=2``), else None.

    Refused: absolute URLs (``https://x``), scheme-relative ones (``//x``), other schemes
    (``javascript:``), backslashes and control characters, and anything not starting with
    a single ``/``.
    """
    if not target or not isinstance(target, str) or len(target) > 2000:
        return None
    target = target.strip()
    if any(ch in target for ch in _SUSPICIOUS) or any(ord(ch) < 32 for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
