"""The mail outbox: a message is written with its cause, delivered once after the commit,
retried with back-off, failed after the last attempt, swept when its hand-over was lost or
its worker died, and never sent twice."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from shop import mail
from shop.dbtypes import utcnow
from shop.exceptions import Conflict, NotFound
from shop.extensions import db, jobs
from shop.jobs import outbox
from shop.jobs.models import OutboxMessage
from tests.jobhelpers import closed_port, hand_overs_lost, rows, sweep_later

KIND = "test_note"


@outbox.renderer(KIND)
def _render_note(msg: OutboxMessage):
    """A test message: ``{"nothing": true}`` renders nothing, ``{"explode": true}`` fails."""
    if msg.payload.get("nothing"):
        return None
    if msg.payload.get("explode"):
        raise RuntimeError("renderer broke")
    return outbox.Mail(f"Note {msg.id}", msg.payload.get("text", "hello"))


@pytest.fixture(autouse=True)
def _empty_outbox():
    mail.clear_outbox()
    yield
    mail.clear_outbox()


def _write(**payload) -> int:
    """A committed row whose hand-over was lost: it waits until the test delivers it."""
    with hand_overs_lost():
        message_id = outbox.add_message(KIND, "ann@example.com", payload).id
        db.session.commit()
    return message_id


def _smtp_down(app) -> None:
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port())


def test_message_is_written_in_the_transaction_and_sent_after_the_commit(db):
    msg = outbox.add_message(KIND, "ann@example.com", {"text": "after commit"})
    assert mail.outbox() == []  # flushed, not committed: nothing sent yet
    db.session.commit()
    [sent] = mail.outbox()
    assert sent["To"] == "ann@example.com" and sent.get_content().strip() == "after commit"
    [row] = rows(KIND)
    assert (row.id, row.status, row.attempts, row.last_error) == (msg.id, "sent", 1, None)
    assert row.sent_at is not None and sent["Message-ID"] == outbox.message_id(row)

    outbox.add_message(KIND, "bob@example.com", {"text": "rolled back"})
    db.session.rollback()
    assert len(mail.outbox()) == 1 and len(rows(KIND)) == 1


def test_savepoints_do_not_hand_over_early_and_a_rolled_back_savepoint_keeps_the_rest(db):
    outbox.add_message(KIND, "ann@example.com", {"text": "outer"})
    with db.session.begin_nested():
        outbox.add_message(KIND, "bob@example.com", {"text": "inner"})
    assert mail.outbox() == []  # a released savepoint is not a commit
    try:
        with db.session.begin_nested():
            outbox.add_message(KIND, "cid@example.com", {"text": "undone"})
            raise RuntimeError("undo the savepoint")
    except RuntimeError:
        pass
    db.session.commit()
    assert sorted(m["To"] for m in mail.outbox()) == ["ann@example.com", "bob@example.com"]
    assert [r.status for r in rows(KIND)] == ["sent", "sent"]


def test_delivering_a_row_twice_sends_it_once(db):
    message_id = _write(text="once")
    assert outbox.deliver(message_id) == outbox.Delivery("sent")
    assert outbox.deliver(message_id) == outbox.Delivery("not_claimed")
    jobs.enqueue(outbox.DELIVER_JOB, message_id)  # the job itself, twice more
    jobs.enqueue(outbox.DELIVER_JOB, message_id)
    assert len(mail.outbox()) == 1
    assert rows(KIND)[0].attempts == 1
    assert outbox.deliver(10**9) == outbox.Delivery("not_claimed")  # no such row


def test_concurrent_deliveries_of_one_row_send_it_once(app, db):
    message_id = _write(text="race")
    start, outcomes = threading.Barrier(4), []

    def deliver():
        with app.app_context():
            start.wait()
            outcomes.append(outbox.deliver(message_id).outcome)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["not_claimed"] * 3 + ["sent"]
    assert len(mail.outbox()) == 1 and rows(KIND)[0].attempts == 1


def test_failures_are_recorded_retried_with_back_off_then_failed_and_staff_can_retry(app, db):
    _smtp_down(app)
    app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    message_id = _write(text="smtp is down")
    before = utcnow()

    first = outbox.deliver(message_id)
    row = rows(KIND)[0]
    assert first == outbox.Delivery("retry", timedelta(seconds=30))
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error.startswith("ConnectionRefusedError")
    assert before + timedelta(seconds=30) <= row.next_attempt_at <= utcnow() + timedelta(seconds=30)
    assert outbox.deliver(message_id) == outbox.Delivery("retry", timedelta(seconds=60))
    assert outbox.deliver(message_id) == outbox.Delivery("failed")
    row = rows(KIND)[0]
    assert (row.status, row.attempts) == ("failed", 3) and "ConnectionRefusedError" in row.last_error
    # A failed row is left alone: neither a delivery nor the sweep takes it again.
    assert outbox.deliver(message_id) == outbox.Delivery("not_claimed")
    assert sweep_later(timedelta(days=1)) == 0
    assert mail.outbox() == []

    app.config["MAIL_BACKEND"] = "memory"  # the mail server is back
    outbox.retry_message(message_id)
    db.session.commit()  # staff retry: handed over after the commit
    row = rows(KIND)[0]
    assert (row.status, row.attempts) == ("sent", 1) and len(mail.outbox()) == 1
    with pytest.raises(Conflict):
        outbox.retry_message(message_id)  # sent: never again
    db.session.rollback()
    with pytest.raises(NotFound):
        outbox.retry_message(10**9)


def test_sweep_hands_over_a_row_whose_hand_over_was_lost_once_it_is_overdue(app, db):
    message_id = _write(text="lost hand-over")
    assert outbox.sweep() == 0  # not overdue yet: its own job may still be on the way
    grace = app.config["OUTBOX_SWEEP_AFTER"]
    assert sweep_later(grace + timedelta(seconds=1)) == 1
    assert rows(KIND)[0].status == "sent" and len(mail.outbox()) == 1
    assert sweep_later() == 0
    assert outbox.deliver(message_id).outcome == "not_claimed"
    assert len(mail.outbox()) == 1


def test_sweep_takes_over_a_delivery_whose_worker_died(app, db):
    message_id = _write(text="worker died")

    def claimed(ago: timedelta) -> None:
        """A worker claimed the row ``ago`` and died before sending."""
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status="sending", attempts=1, claimed_at=utcnow() - ago)
        )
        db.session.commit()

    claimed(timedelta(minutes=1))
    assert outbox.sweep() == 0  # the lease (5 minutes) still holds
    assert outbox.deliver(message_id).outcome == "not_claimed"
    claimed(app.config["OUTBOX_LEASE"] + timedelta(seconds=1))
    assert outbox.sweep() == 1
    row = rows(KIND)[0]
    assert (row.status, row.attempts) == ("sent", 2) and len(mail.outbox()) == 1
    # The dead worker's attempt can no longer record anything.
    assert outbox._finish(message_id, 1, "pending", "too late") is False
    assert rows(KIND)[0].status == "sent"


def test_nothing_to_send_is_skipped_and_a_broken_renderer_is_recorded(db):
    skipped = _write(nothing=True)
    broken = _write(explode=True)
    assert outbox.deliver(skipped) == outbox.Delivery("skipped")
    assert outbox.deliver(broken).outcome == "retry"
    by_id = {r.id: r for r in rows(KIND)}
    assert by_id[skipped].status == "skipped" and by_id[skipped].sent_at is not None
    assert by_id[broken].status == "pending" and by_id[broken].last_error == "RuntimeError: renderer broke"
    assert mail.outbox() == []


def test_unknown_kinds_are_refused_when_written(db):
    with pytest.raises(ValueError):
        outbox.add_message("no_such_kind", "ann@example.com", {})


def test_purge_deletes_old_sent_and_skipped_rows_and_keeps_the_rest(app, db):
    ids = {status: _write(text=status) for status in ("sent", "skipped", "failed", "pending")}
    old = utcnow() - app.config["OUTBOX_KEEP"] - timedelta(days=1)
    for status, message_id in ids.items():
        db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id).values(status=status, created_at=old)
        )
    fresh = _write(text="fresh")
    outbox.deliver(fresh)
    assert outbox.purge() == 2
    db.session.commit()
    assert sorted(r.status for r in rows(KIND)) == ["failed", "pending", "sent"]
    assert outbox.status_counts() == {"pending": 1, "sending": 0, "sent": 1, "skipped": 0, "failed": 1}
