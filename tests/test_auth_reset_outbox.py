"""Password resets reveal no accounts: a known and an unknown address get the same answer
from the same work (one outbox row, no mail server in the request), even with the mail
server down; the job mails the link to a known address, once."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from shop import mail
from shop.auth.mails import PASSWORD_RESET
from shop.auth.models import PasswordResetToken
from shop.extensions import db as _db
from shop.extensions import jobs
from shop.jobs import outbox
from tests.factories import make_user
from tests.jobhelpers import closed_port, rows, sweep_later

FLASH = "If an account exists for that address, we have sent it a link to reset the password."


@pytest.fixture(autouse=True)
def _empty_outbox():
    mail.clear_outbox()
    yield
    mail.clear_outbox()


def _tokens() -> int:
    _db.session.expire_all()
    return _db.session.scalar(select(func.count(PasswordResetToken.id)))


def _ask(client, email: str):
    """POST the reset form; returns the response and the messages it flashed."""
    resp = client.post("/auth/reset", data={"email": email})
    with client.session_transaction() as sess:
        flashes = sess.pop("_flashes", [])
    return resp, flashes


def _same_row(known, unknown) -> None:
    """Both requests wrote the same kind of row, with the same fields, untouched by them."""
    assert known.kind == unknown.kind == PASSWORD_RESET
    assert sorted(known.payload) == sorted(unknown.payload) == ["base_url", "ip"]
    assert (known.recipient, unknown.recipient) == ("real@example.com", "ghost@example.com")


def test_same_redirect_for_known_and_unknown_addresses_with_the_smtp_server_down(app, client, db):
    make_user("real@example.com")
    db.session.commit()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port())

    known, known_flash = _ask(client, "Real@Example.com")
    unknown, unknown_flash = _ask(client, "ghost@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"] == "/auth/login"
    assert known_flash == unknown_flash == [("info", FLASH)]
    known_row, unknown_row = rows(PASSWORD_RESET)
    _same_row(known_row, unknown_row)
    # The jobs ran at once (as the tests run them): the known address's mail failed and
    # waits for its retry; the unknown address had nothing to send.
    assert (known_row.status, known_row.attempts) == ("pending", 1)
    assert known_row.last_error.startswith("ConnectionRefusedError")
    assert (unknown_row.status, unknown_row.attempts) == ("skipped", 1)

    app.config["MAIL_BACKEND"] = "memory"  # the mail server is back
    assert sweep_later() == 1
    [msg] = mail.outbox()
    assert msg["To"] == "real@example.com"
    link = re.search(r"http://localhost(/auth/reset/\S+)", msg.get_content()).group(1)
    assert client.get(link).status_code == 200  # the mailed link is the live one
    # Delivering again sends nothing more.
    assert outbox.deliver(known_row.id).outcome == "not_claimed"
    jobs.enqueue(outbox.DELIVER_JOB, known_row.id)
    assert sweep_later() == 0 and len(mail.outbox()) == 1


def test_the_request_does_the_same_work_and_the_jobs_run_after_the_response(app_factory, db):
    # The embedded default (no Redis, as `make run`): jobs run once the response has gone.
    embedded = app_factory(JOBS_IMMEDIATE=False, REDIS_URL="")
    with embedded.app_context():
        make_user("real@example.com")
        _db.session.commit()
        client = embedded.test_client()
        known, known_flash = _ask(client, "real@example.com")
        unknown, unknown_flash = _ask(client, "ghost@example.com")
        assert known.status_code == unknown.status_code == 302 and known_flash == unknown_flash

        # Until the responses are closed (sent), neither request has done more than write
        # its row: no account looked at for a token, no mail, not one attempt.
        known_row, unknown_row = rows(PASSWORD_RESET)
        _same_row(known_row, unknown_row)
        assert [(r.status, r.attempts) for r in (known_row, unknown_row)] == [("pending", 0)] * 2
        assert _tokens() == 0 and mail.outbox() == []

        known.close()
        unknown.close()
        assert [r.status for r in rows(PASSWORD_RESET)] == ["sent", "skipped"]
        assert _tokens() == 1 and [m["To"] for m in mail.outbox()] == ["real@example.com"]


def test_on_redis_both_requests_only_queue_the_same_job(app_factory, db, redis_url):
    if not redis_url:
        pytest.skip("needs Redis (TEST_REDIS_URL)")
    on_redis = app_factory(JOBS_IMMEDIATE=False, JOBS_QUEUE=f"shoptest:jobs:{uuid.uuid4().hex}")
    huey = jobs.bound(on_redis).huey
    try:
        with on_redis.app_context():
            make_user("real@example.com")
            _db.session.commit()
            client = on_redis.test_client()
            for email in ("real@example.com", "ghost@example.com"):
                resp, flashes = _ask(client, email)
                assert resp.status_code == 302 and flashes == [("info", FLASH)]
            queued = huey.pending()
            known_row, unknown_row = rows(PASSWORD_RESET)
            assert [(t.name, t.args) for t in queued] == [
                (outbox.DELIVER_JOB, (known_row.id,)),
                (outbox.DELIVER_JOB, (unknown_row.id,)),
            ]
            assert _tokens() == 0 and mail.outbox() == []
            # A worker runs them (here in this process), then a second time.
            for _ in range(2):
                for task in queued:
                    huey.execute(task)
            assert [r.status for r in rows(PASSWORD_RESET)] == ["sent", "skipped"]
            assert [m["To"] for m in mail.outbox()] == ["real@example.com"]
    finally:
        huey.flush()
