"""The queue end to end on Redis: two ``flask shop worker`` processes deliver what the web
app committed, once, also when a hand-over was lost or a row is handed over many times, and
run the periodic sweep once per period between them."""

from __future__ import annotations

import time
import uuid
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
import redis

from shop.extensions import jobs
from shop.jobs import outbox
from shop.orders import cart as carts
from tests.factories import bearer_headers, make_product, make_user
from tests.jobhelpers import hand_overs_lost, rows, wait_for, worker_process
from tests.test_checkout_flows import ADDRESS


@pytest.fixture
def queue_name(redis_url):
    """A queue of its own on the suite's Redis (removed afterwards)."""
    if not redis_url:
        pytest.skip("needs Redis (TEST_REDIS_URL)")
    name = f"shoptest:jobs:{uuid.uuid4().hex}"
    yield name
    conn = redis.Redis.from_url(redis_url)
    for key in conn.scan_iter(f"*{name}*"):
        conn.delete(key)


def _early_in_a_minute() -> None:
    """Wait until the clock is early in a minute, so both workers start in one period."""
    while time.time() % 60 > 50:
        time.sleep(0.5)


def _mails(directory) -> list:
    return [
        message_from_bytes(path.read_bytes(), policy=default_policy)
        for path in sorted(directory.glob("*.eml"))
    ]


def test_workers_deliver_each_committed_mail_once(
    app_factory, db, database_url, redis_url, queue_name, tmp_path
):
    web = app_factory(JOBS_IMMEDIATE=False, JOBS_QUEUE=queue_name)
    huey = jobs.bound(web).huey
    with web.app_context():
        user = make_user("ada@example.com")
        kb = make_product(name="Keyboard", stock=5)
        headers = bearer_headers(user)
        carts.add_item(carts.get_user_cart(user.id, create=True), kb.sku, 1)
        db.session.commit()
        client = web.test_client()
        # The web process dies right after committing a reset request: its job is lost.
        with hand_overs_lost():
            assert client.post("/auth/reset", data={"email": user.email}).status_code == 302
        # An order committed while no worker runs: its job waits in Redis.
        resp = client.post(
            "/api/v1/orders",
            json={"shipping_address": ADDRESS, "payment_provider": "manual"},
            headers=headers,
        )
        assert resp.status_code == 201
        number = resp.get_json()["data"]["number"]
        assert huey.pending_count() == 1

    _early_in_a_minute()
    # No grace for the sweep, so the sweep each worker schedules at start finds the lost row.
    fast = {"OUTBOX_SWEEP_AFTER_SECONDS": "0"}
    with (
        worker_process(database_url, redis_url, queue_name, tmp_path, "one", **fast),
        worker_process(database_url, redis_url, queue_name, tmp_path, "two", **fast),
    ):
        with web.app_context():
            wait_for(lambda: [r.status for r in rows()] == ["sent", "sent"], timeout=30)
            reset_row, order_row = rows()
            # The order's row handed over four more times: the workers send nothing more.
            for _ in range(4):
                jobs.bound(web).hand_over(outbox.DELIVER_JOB, order_row.id)
            wait_for(lambda: huey.pending_count() == 0)
            time.sleep(1)  # let the last job taken finish
            assert [(r.status, r.attempts) for r in rows()] == [("sent", 1), ("sent", 1)]

    subjects = sorted(m["Subject"] for m in _mails(tmp_path / "mail"))
    assert subjects == ["Reset your shop password", f"shop: order {number} received, waiting for payment"]
    assert {m["To"] for m in _mails(tmp_path / "mail")} == {"ada@example.com"}
    logs = (tmp_path / "one.log").read_text() + (tmp_path / "two.log").read_text()
    # Both workers scheduled the sweep at start; it ran once in that minute.
    assert logs.count("running periodic job sweep_outbox") == 1, logs
    assert "periodic job sweep_outbox already ran in this period" in logs


def test_worker_refuses_to_start_without_redis(app_factory):
    embedded = app_factory(JOBS_IMMEDIATE=False, REDIS_URL="")
    result = embedded.test_cli_runner().invoke(args=["shop", "worker"])
    assert result.exit_code == 1 and "REDIS_URL is not set" in result.output
