"""Outgoing e-mail through Flask-Mailman.

``MAIL_BACKEND`` picks one of Flask-Mailman's backends: ``smtp`` (production), ``file``
(development: one ``.eml`` file per message in ``MAIL_OUTBOX_DIR``), ``memory`` (tests:
Flask-Mailman's locmem outbox, read with :func:`outbox`) or ``console`` (printed). The
setting is read at every send, so a test may switch it on a running app.

Requests never call :func:`send_mail`: they write an outbox row (``shop.jobs.outbox``) in
their transaction, and a job sends it after the commit.
"""

from __future__ import annotations

import datetime
import secrets
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

from flask import Flask, current_app
from flask_mailman import EmailMultiAlternatives, Mail
from flask_mailman.backends import file as mailman_file
from flask_mailman.backends import locmem as mailman_locmem

#: The extension (bound lazily to whichever app sends first, or by :func:`init_app`).
mailman = Mail()

#: Messages kept by the ``memory`` backend. One list for every app of the process, so a test
#: sees what a live server in the same process sent.
_SENT: list = []


class MemoryBackend(mailman_locmem.EmailBackend):
    """Flask-Mailman's locmem backend, keeping its outbox in the process-wide list."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.mailman.outbox = _SENT


class EmlFileBackend(mailman_file.EmailBackend):
    """Flask-Mailman's file backend writing one ``.eml`` file per message (its own writes
    every message of a connection into one ``.log`` file)."""

    def _get_filename(self) -> str:
        """A new, unique ``<timestamp>-<random>.eml`` name for each message."""
        stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
        return f"{self.file_path}/{stamp}-{secrets.token_hex(4)}.eml"

    def write_message(self, message) -> None:
        """Write the message alone, as the bytes a mail server would get."""
        self.stream.write(message.message().as_bytes())

    def send_messages(self, email_messages) -> int:
        """One file per message: close the file after each."""
        sent = 0
        for message in email_messages:
            self._fname = None
            sent += super().send_messages([message]) or 0
            self.close()
        return sent


#: ``MAIL_BACKEND`` values and the Flask-Mailman backend each maps to.
BACKENDS = {
    "smtp": "smtp",
    "file": EmlFileBackend,
    "memory": MemoryBackend,
    "locmem": MemoryBackend,
    "console": "console",
}


class SentMessage(EmailMessage):
    """A message as it was sent (standard library form, for tests and tools).

    ``get_content()`` of a message with an HTML alternative returns its plain-text part;
    :attr:`text` and :attr:`html` give either part (None when absent).
    """

    @property
    def text(self) -> str | None:
        """The plain-text body."""
        part = self.get_body(("plain",))
        return part.get_content() if part is not None else None

    @property
    def html(self) -> str | None:
        """The HTML body, or None for a plain-text message."""
        part = self.get_body(("html",))
        return part.get_content() if part is not None else None

    def get_content(self, *args, **kw):
        """The content; for a multipart/alternative message, its plain-text part's."""
        if self.get_content_type() == "multipart/alternative":
            return self.text
        return super().get_content(*args, **kw)


def init_app(app: Flask) -> None:
    """Bind Flask-Mailman to ``app`` (its settings are re-read at every send anyway)."""
    mailman.init_app(app)


def _connection():
    """A backend connection for the current ``MAIL_*`` settings.

    Raises:
        ValueError: unknown ``MAIL_BACKEND``.
    """
    app = current_app._get_current_object()
    if "mailman" not in app.extensions:
        init_app(app)
    cfg = app.config
    name = cfg["MAIL_BACKEND"]
    if name not in BACKENDS:
        raise ValueError(f"unknown MAIL_BACKEND {name!r}")
    options: dict = {}
    if name == "smtp":
        options = {
            "host": cfg["MAIL_SERVER"],
            "port": cfg["MAIL_PORT"],
            "username": cfg["MAIL_USERNAME"] or "",
            "password": cfg["MAIL_PASSWORD"] or "",
            "use_tls": cfg["MAIL_USE_TLS"],
            "use_ssl": cfg.get("MAIL_USE_SSL", False),
            "timeout": cfg.get("MAIL_TIMEOUT", 10),
        }
    elif name == "file":
        options = {"file_path": cfg["MAIL_OUTBOX_DIR"]}
    return mailman.get_connection(backend=BACKENDS[name], **options)


def send_mail(
    to: str, subject: str, body: str, message_id: str | None = None, html: str | None = None
) -> SentMessage:
    """Send one message through the configured backend.

    Args:
        body: the plain-text part (always sent).
        html: an HTML alternative of the same text, or None for plain text only.
        message_id: a stable Message-ID (``<...@domain>``) so that a message sent again
            after a crash is recognised as the same message by mail clients.
    Returns:
        the message as sent.
    Raises:
        ValueError: unknown ``MAIL_BACKEND``.
        smtplib.SMTPException / OSError: the SMTP server refused or is unreachable.
    """
    headers = {"Message-ID": message_id} if message_id else {}
    msg = EmailMultiAlternatives(
        subject,
        body,
        current_app.config["MAIL_DEFAULT_SENDER"],
        [to],
        headers=headers,
        connection=_connection(),
    )
    if html is not None:
        msg.attach_alternative(html, "text/html")
    msg.send()
    return _standard(msg)


def _standard(msg) -> SentMessage:
    """A Flask-Mailman message as a standard-library message."""
    return message_from_bytes(msg.message().as_bytes(), _class=SentMessage, policy=default_policy)


def outbox() -> list[SentMessage]:
    """Messages sent with the ``memory`` backend (tests), oldest first."""
    return [_standard(m) for m in _SENT]


def clear_outbox() -> None:
    """Forget the ``memory`` backend's messages."""
    _SENT.clear()
