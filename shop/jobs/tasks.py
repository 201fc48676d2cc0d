"""The shop's jobs: deliver an outbox message; sweep and purge the outbox periodically.

Every job here is safe to run twice: the delivery claims its row before sending, the sweep
only hands rows over, and the purge deletes by age.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from huey.exceptions import RetryTask

from shop.auth import logins
from shop.extensions import db, jobs
from shop.jobs import outbox
from shop.orders import cart as carts
from shop.payments import expiry


@jobs.task(name=outbox.DELIVER_JOB)
def deliver_outbox_message(message_id: int) -> str:
    """Deliver one outbox row (see :func:`shop.jobs.outbox.deliver`); returns the outcome.

    Raises:
        RetryTask: on Redis, after a failed attempt, so Huey runs it again after the
            back-off (in-process, the sweep retries it instead).
    """
    result = outbox.deliver(message_id)
    if result.retry_in is not None and jobs.bound().mode == "redis":
        raise RetryTask(delay=result.retry_in.total_seconds())
    return result.outcome


@jobs.periodic(timedelta(minutes=1))
def sweep_outbox() -> int:
    """Every minute: hand over outbox rows that are overdue; returns how many."""
    return outbox.sweep()


@jobs.periodic(timedelta(hours=24))
def purge_outbox() -> int:
    """Daily (00:00 UTC): delete sent and skipped outbox rows older than OUTBOX_KEEP."""
    count = outbox.purge()
    db.session.commit()
    return count


@jobs.periodic(timedelta(hours=24))
def purge_guest_carts() -> int:
    """Daily: delete guest carts untouched for GUEST_CART_MAX_AGE (``flask shop purge-carts``)."""
    count = carts.purge_guest_carts(current_app.config["GUEST_CART_MAX_AGE"])
    db.session.commit()
    return count


@jobs.periodic(timedelta(hours=24))
def purge_expired_logins() -> int:
    """Daily: delete logins past LOGIN_MAX_AGE (``flask shop purge-logins``)."""
    count = logins.purge_logins()
    db.session.commit()
    return count


@jobs.periodic(timedelta(minutes=5))
def expire_unpaid_orders() -> int:
    """Every 5 minutes: cancel card orders unpaid for UNPAID_ORDER_TIMEOUT and release their
    stock (``flask shop expire-unpaid``)."""
    return len(expiry.expire_unpaid())
