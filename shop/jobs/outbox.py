"""The mail outbox: a message is written in the transaction that causes it and delivered by
a job after the commit, exactly once.

- :func:`add_message` (services call it; they flush, the caller commits) writes the row and
  asks for the delivery job once the transaction commits.
- :func:`deliver` (the job) claims the row with a conditional UPDATE, renders and sends the
  message, and marks it sent. A second delivery of the same row finds nothing to claim and
  sends nothing. A failure is recorded (attempts, last error) and retried later, waiting
  twice as long each time; after ``OUTBOX_MAX_ATTEMPTS`` the row is ``failed``.
- :func:`sweep` (every minute) hands over rows still unsent ``OUTBOX_SWEEP_AFTER`` after they
  were due (the process died between the commit and the hand-over, or the queue was down)
  and rows whose delivery was claimed ``OUTBOX_LEASE`` ago without finishing (the worker
  died while sending).

The one case that can send a message twice is a worker dying after the mail server took the
message and before the row was marked sent; the message then goes again, with the same
Message-ID, so mail clients show it once.

Each kind of message has a renderer (:func:`renderer`), registered by the package that owns
it (``orders/notifications.py``, ``auth/mails.py``), which turns the row into a subject and
body when it is delivered, or into None when there is nothing to send.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import Select, and_, delete, func, or_, select, update

from shop import mail
from shop.dbtypes import utcnow
from shop.exceptions import Conflict, NotFound
from shop.extensions import db, jobs
from shop.jobs.models import OUTBOX_STATUSES, OutboxMessage

log = logging.getLogger(__name__)

#: The name of the job that delivers one row (declared in ``shop/jobs/tasks.py``).
DELIVER_JOB = "deliver_outbox_message"
#: Rows handed over by one sweep (the next sweep takes the rest).
SWEEP_BATCH = 500
#: Statuses staff should look at (the admin page's default filter).
NEEDS_ATTENTION = ("failed", "pending", "sending")


@dataclass(frozen=True)
class Mail:
    """A rendered message: subject, plain-text body and (optionally) the same as HTML."""

    subject: str
    body: str
    html: str | None = None


@dataclass(frozen=True)
class Delivery:
    """What one delivery did: ``outcome`` is ``sent``, ``skipped`` (nothing to send),
    ``retry`` (failed; ``retry_in`` until the next attempt), ``failed`` (no attempts left) or
    ``not_claimed`` (already delivered, being delivered, or no such row)."""

    outcome: str
    retry_in: timedelta | None = None


_RENDERERS: dict[str, Callable[[OutboxMessage], Mail | None]] = {}


def renderer(kind: str) -> Callable:
    """Decorator registering the function that renders messages of ``kind``.

    The function takes the :class:`OutboxMessage` and returns a :class:`Mail`, or None when
    there is nothing to send; it runs in the delivery's transaction, which is committed
    before the message is sent (what it writes, e.g. a reset token, is saved first).
    """

    def decorator(func):
        _RENDERERS[kind] = func
        return func

    return decorator


def add_message(kind: str, recipient: str, payload: dict[str, Any], key: str | None = None) -> OutboxMessage:
    """Write a message to deliver after the caller's transaction commits (flushes only).

    Args:
        kind: a kind with a registered :func:`renderer`.
        recipient: the e-mail address.
        payload: JSON-able values the renderer needs (never a secret: rows are readable).
        key: unique per cause (e.g. ``order_confirmation:<order id>``), so a cause writes at
            most one message; default: a random key.
    Raises:
        ValueError: no renderer is registered for ``kind``.
        sqlalchemy.exc.IntegrityError: ``key`` was already used (on flush).
    """
    if kind not in _RENDERERS:
        raise ValueError(f"no renderer for outbox messages of kind {kind!r}")
    msg = OutboxMessage(
        kind=kind,
        recipient=recipient,
        payload=payload,
        key=key or f"{kind}:{uuid.uuid4().hex}",
    )
    db.session.add(msg)
    db.session.flush()
    jobs.enqueue_after_commit(db.session, DELIVER_JOB, msg.id)
    return msg


def link(base_url: str, endpoint: str, **values: Any) -> str:
    """An absolute URL for ``endpoint`` under ``base_url`` (the site address of the request
    that caused the message), built without a request, as a job must."""
    parts = urlsplit(base_url)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)


def message_id(msg: OutboxMessage) -> str:
    """The row's stable Message-ID header: the same on every attempt."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    domain = sender.rpartition("@")[2].strip("> ") or "localhost"
    return f"<outbox.{msg.id}.{msg.key.rpartition(':')[2][:32]}@{domain}>"


# --- delivery ---------------------------------------------------------------------------------


def _claim(message_id_: int, now: datetime) -> bool:
    """Take the row for this delivery (and count the attempt); False if someone has it."""
    lease = current_app.config["OUTBOX_LEASE"]
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id_,
            or_(
                OutboxMessage.status == "pending",
                and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at <= now - lease),
            ),
        )
        .values(status="sending", attempts=OutboxMessage.attempts + 1, claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _render(msg: OutboxMessage) -> Mail | None:
    """The message's text from its kind's renderer.

    Raises:
        LookupError: no renderer for the kind (a message written by a newer release).
    """
    render = _RENDERERS.get(msg.kind)
    if render is None:
        raise LookupError(f"no renderer for outbox messages of kind {msg.kind!r}")
    return render(msg)


def _finish(message_id_: int, attempt: int, status: str, error: str | None = None, retry_at=None) -> bool:
    """Record how this attempt ended, unless another delivery took the row over since
    (its lease ran out); True if recorded."""
    values: dict[str, Any] = {"status": status}
    if status in ("sent", "skipped"):
        values["sent_at"] = utcnow()
    if error is not None:
        values["last_error"] = error[:2000]
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    done = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id_,
            OutboxMessage.status == "sending",
            OutboxMessage.attempts == attempt,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if done != 1:
        log.warning("outbox message %s: attempt %s was taken over before it finished", message_id_, attempt)
    return done == 1


def retry_delay(attempt: int) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1, 2, ...): the base delay,
    doubled after each further failure."""
    return current_app.config["OUTBOX_RETRY_DELAY"] * 2 ** (max(attempt, 1) - 1)


def deliver(message_id_: int) -> Delivery:
    """Deliver one outbox row: claim it, render and send it, mark it sent.

    Safe to run any number of times and at once in several workers: only the delivery that
    claims the row sends it. Every commit happens before the mail server is contacted, so no
    transaction stays open while sending.

    Returns:
        a :class:`Delivery`; a failed attempt is recorded on the row, never raised.
    Raises:
        sqlalchemy.exc.SQLAlchemyError: the database is unreachable (the job is retried).
    """
    now = utcnow()
    if not _claim(message_id_, now):
        return Delivery("not_claimed")
    msg = db.session.get(OutboxMessage, message_id_)
    attempt = msg.attempts
    try:
        rendered = _render(msg)
        recipient, mid = msg.recipient, message_id(msg)
        db.session.commit()
        if rendered is not None:
            mail.send_mail(recipient, rendered.subject, rendered.body, message_id=mid, html=rendered.html)
    except Exception as exc:  # any failure to render or send is recorded and retried
        db.session.rollback()
        return _failed(message_id_, attempt, exc)
    outcome = "sent" if rendered is not None else "skipped"
    _finish(message_id_, attempt, outcome)
    return Delivery(outcome)


def _failed(message_id_: int, attempt: int, exc: Exception) -> Delivery:
    """Record a failed attempt: pending again after the back-off, or failed if none is left."""
    error = f"{type(exc).__name__}: {exc}"
    if attempt >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        log.error("outbox message %s failed for good after %s attempts: %s", message_id_, attempt, error)
        _finish(message_id_, attempt, "failed", error)
        return Delivery("failed")
    wait = retry_delay(attempt)
    log.warning("outbox message %s: attempt %s failed (%s); next in %s", message_id_, attempt, error, wait)
    _finish(message_id_, attempt, "pending", error, retry_at=utcnow() + wait)
    return Delivery("retry", wait)


# --- sweeping, purging, retrying ------------------------------------------------------------------


def due_messages(now: datetime | None = None, limit: int = SWEEP_BATCH) -> list[int]:
    """Ids of rows the sweep must hand over: pending and overdue by ``OUTBOX_SWEEP_AFTER``,
    or claimed longer than ``OUTBOX_LEASE`` ago; oldest first."""
    now = now or utcnow()
    cfg = current_app.config
    return list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(
                or_(
                    and_(
                        OutboxMessage.status == "pending",
                        OutboxMessage.next_attempt_at <= now - cfg["OUTBOX_SWEEP_AFTER"],
                    ),
                    and_(
                        OutboxMessage.status == "sending",
                        OutboxMessage.claimed_at <= now - cfg["OUTBOX_LEASE"],
                    ),
                )
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )


def sweep(now: datetime | None = None) -> int:
    """Hand the overdue rows (:func:`due_messages`) to the delivery job. Returns the count.

    Handing a row over twice is harmless: the delivery that claims it first sends it.
    """
    ids = due_messages(now)
    db.session.commit()  # end the read before the deliveries (which may run right here)
    for message_id_ in ids:
        jobs.enqueue(DELIVER_JOB, message_id_)
    if ids:
        log.info("outbox sweep handed over %s messages", len(ids))
    return len(ids)


def purge(now: datetime | None = None) -> int:
    """Delete sent and skipped rows older than ``OUTBOX_KEEP`` (failed rows stay for staff).
    Flushes; the caller commits. Returns the count."""
    before = (now or utcnow()) - current_app.config["OUTBOX_KEEP"]
    result = db.session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.status.in_(("sent", "skipped")), OutboxMessage.created_at < before)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def retry_message(message_id_: int) -> OutboxMessage:
    """Staff: send a failed (or waiting) message again now, with a fresh set of attempts.
    Flushes; the caller commits, and the delivery is handed over after the commit.

    Raises:
        NotFound: no such message.
        Conflict: it was already sent or skipped, or a delivery is sending it right now.
    """
    msg = db.session.get(OutboxMessage, message_id_)
    if msg is None:
        raise NotFound("No such message.")
    reopened = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id_, OutboxMessage.status.in_(("failed", "pending")))
        .values(status="pending", attempts=0, next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(msg)
    if reopened != 1:
        raise Conflict(f"This message is {msg.status}; only failed or waiting messages can be retried.")
    jobs.enqueue_after_commit(db.session, DELIVER_JOB, message_id_)
    return msg


def staff_messages(status: str | None = None) -> Select:
    """A select of outbox rows for the staff page, newest first: one ``status``, or (None)
    those needing attention (failed, waiting or being sent)."""
    wanted = (status,) if status else NEEDS_ATTENTION
    return (
        select(OutboxMessage)
        .where(OutboxMessage.status.in_(wanted))
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    )


def status_counts() -> dict[str, int]:
    """``{status: number of rows}`` for every status (0 when none)."""
    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    counts = dict.fromkeys(OUTBOX_STATUSES, 0)
    counts.update({status: count for status, count in rows})
    return counts
