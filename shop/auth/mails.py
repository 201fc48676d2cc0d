"""E-mails about accounts, through the outbox (``shop/jobs/outbox.py``).

A password reset request writes the same outbox row whether or not an account has the
address, and nothing else: the request does the same work, in the same time, with the same
answer either way, and never talks to the mail server. The job that delivers the row looks
the account up, creates the reset token and sends the link; for an unknown address it sends
nothing (the row ends as ``skipped``). The link's secret exists only in the mail: the row
holds the address, and the token table only the secret's hash.
"""

from __future__ import annotations

from flask import current_app

from shop.auth import services
from shop.jobs import outbox
from shop.jobs.models import OutboxMessage

PASSWORD_RESET = "password_reset"


def queue_password_reset(email: str, ip: str | None, base_url: str) -> OutboxMessage:
    """Write a reset mail for ``email`` to the outbox, whether or not it has an account
    (flushes; the caller commits, then a job sends it).

    Args:
        email: the address typed in (normalized here).
        ip: the requester's address, kept with the token.
        base_url: the site's address (``request.url_root``), for the link.
    """
    return outbox.add_message(
        PASSWORD_RESET,
        services.normalize_email(email)[: services.EMAIL_MAX_LENGTH],
        {"ip": (ip or "")[:64] or None, "base_url": base_url},
    )


@outbox.renderer(PASSWORD_RESET)
def render_password_reset(msg: OutboxMessage) -> outbox.Mail | None:
    """Create the reset token and the mail with its link; None if no active account has
    the address (nothing is sent)."""
    found = services.request_password_reset(msg.recipient, ip=msg.payload.get("ip"))
    if found is None:
        return None
    _user, secret = found
    link = outbox.link(msg.payload["base_url"], "auth.reset_password", token=secret)
    minutes = int(current_app.config["PASSWORD_RESET_TTL"].total_seconds() // 60)
    return outbox.Mail(
        f"Reset your {current_app.config['SHOP_NAME']} password",
        f"Someone asked to reset the password of your account.\n\n"
        f"To choose a new password, open this link within {minutes} minutes:\n{link}\n\n"
        f"The link works once. If you did not ask for it, ignore this message.",
    )
