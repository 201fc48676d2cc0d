"""Staff see failed and waiting mail deliveries under /admin/jobs, with their errors, and
retry them with a CSRF-protected button; a sent message is never sent again."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from shop import mail
from shop.jobs import outbox
from shop.jobs.models import OutboxMessage
from tests.factories import make_user, page_text
from tests.jobhelpers import closed_port, hand_overs_lost, rows
from tests.test_outbox import KIND, _write  # noqa: F401  (registers the test renderer)


@pytest.fixture(autouse=True)
def _empty_outbox():
    mail.clear_outbox()
    yield
    mail.clear_outbox()


@pytest.fixture
def staff(auth, db):
    user = make_user("staff@example.com", role="staff")
    db.session.commit()
    auth.login(user.email)
    return user


def _failed(app, db, count: int = 1) -> list[int]:
    """``count`` messages whose every attempt failed (the mail server was down)."""
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port())
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1
    ids = []
    with hand_overs_lost():
        for n in range(count):
            ids.append(_write(text=f"message {n}"))
    for message_id in ids:
        assert outbox.deliver(message_id).outcome == "failed"
    app.config["MAIL_BACKEND"] = "memory"
    return ids


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_staff_see_failed_deliveries_with_their_error_and_retry_them(app, client, db, staff):
    [message_id] = _failed(app, db)
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/admin/jobs")
    html = page_text(page)
    assert page.status_code == 200
    assert "Test note" in html and "ann@example.com" in html and "ConnectionRefusedError" in html
    assert f'action="/admin/jobs/{message_id}/retry"' in html
    assert 'href="/admin/jobs"' in page_text(client.get("/admin/"))  # linked from the navigation

    refused = client.post(f"/admin/jobs/{message_id}/retry")  # no CSRF token
    assert refused.status_code == 400 and rows(KIND)[0].status == "failed"
    done = client.post(f"/admin/jobs/{message_id}/retry", data={"csrf_token": _csrf(html)})
    assert done.status_code == 303 and done.headers["Location"].endswith("/admin/jobs")
    assert rows(KIND)[0].status == "sent" and len(mail.outbox()) == 1
    assert f"Message {message_id} will be sent again." in page_text(client.get("/admin/jobs"))

    again = client.post(f"/admin/jobs/{message_id}/retry", data={"csrf_token": _csrf(html)})
    assert again.status_code == 303
    assert "only failed or waiting messages can be retried" in page_text(client.get("/admin/jobs"))
    assert len(mail.outbox()) == 1
    assert client.post("/admin/jobs/999999/retry", data={"csrf_token": _csrf(html)}).status_code == 404


def test_job_list_filters_by_status_and_paginates(app, client, db, staff):
    ids = _failed(app, db, count=3)
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == ids[0]).values(status="sent", last_error=None)
    )
    db.session.commit()
    attention = page_text(client.get("/admin/jobs"))
    assert "Showing 1–2 of 2 messages" in attention
    sent = page_text(client.get("/admin/jobs?status=sent"))
    assert "Showing 1–1 of 1 message" in sent and 'action="/admin/jobs/' not in sent  # no Retry

    many = [_write(text=f"bulk {n}") for n in range(3, 61)]  # 58 more, left waiting
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(many)).values(status="failed"))
    db.session.commit()
    first = page_text(client.get("/admin/jobs?status=failed"))
    second = page_text(client.get("/admin/jobs?status=failed&page=2"))
    assert "Showing 1–50 of 60 messages" in first and "Showing 51–60 of 60 messages" in second
    assert "/admin/jobs?page=2&amp;status=failed" in client.get("/admin/jobs?status=failed").get_data(
        as_text=True
    )
