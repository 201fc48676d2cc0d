"""Outgoing e-mail behind a small backend interface.

Backends (``MAIL_BACKEND``): ``smtp`` (production), ``file`` (development: one ``.eml``
file per message in ``MAIL_OUTBOX_DIR``), ``memory`` (tests: ``outbox()`` lists them).
Requests never call :func:`send_mail`: they write an outbox row (``shop.jobs.outbox``) in
their transaction, and a job sends it after the commit.
"""

from __future__ import annotations

import smtplib
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

_MEMORY_OUTBOX: list[EmailMessage] = []


def build_message(
    to: str, subject: str, body: str, sender: str | None = None, message_id: str | None = None
) -> EmailMessage:
    """Build a plain-text message (with ``message_id`` as its Message-ID header, if given)."""
    msg = EmailMessage()
    msg["From"] = sender or current_app.config["MAIL_DEFAULT_SENDER"]
    msg["To"] = to
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg


def send_mail(to: str, subject: str, body: str, message_id: str | None = None) -> EmailMessage:
    """Send a message through the configured backend.

    Args:
        message_id: a stable Message-ID (``<...@domain>``) so that a message sent again
            after a crash is recognised as the same message by mail clients.
    Raises:
        ValueError: unknown ``MAIL_BACKEND``.
        smtplib.SMTPException / OSError: the SMTP server refused or is unreachable.
    """
    msg = build_message(to, subject, body, message_id=message_id)
    backend = current_app.config["MAIL_BACKEND"]
    if backend == "memory":
        _MEMORY_OUTBOX.append(msg)
    elif backend == "file":
        outbox = Path(current_app.config["MAIL_OUTBOX_DIR"])
        outbox.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        (outbox / name).write_bytes(bytes(msg))
    elif backend == "smtp":
        cfg = current_app.config
        with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=10) as smtp:
            if cfg["MAIL_USE_TLS"]:
                smtp.starttls()
            if cfg["MAIL_USERNAME"]:
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            smtp.send_message(msg)
    else:
        raise ValueError(f"unknown MAIL_BACKEND {backend!r}")
    return msg


def outbox() -> list[EmailMessage]:
    """Messages sent with the ``memory`` backend (tests)."""
    return _MEMORY_OUTBOX


def clear_outbox() -> None:
    """Forget the ``memory`` backend's messages."""
    _MEMORY_OUTBOX.clear()
