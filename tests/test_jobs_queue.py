"""The job queue: bound to each app's config without connecting, jobs handed over only after
the commit, run in an app context of their own, periodic jobs claimed once per period, and
a queue that is down never fails the request that committed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import redis
from flask import current_app

from shop import mail
from shop.extensions import db as _db
from shop.extensions import jobs
from shop.jobs import outbox
from shop.jobs.queue import schedule_for
from shop.orders.notifications import ORDER_CONFIRMATION
from tests.factories import bearer_headers, make_product, make_user
from tests.jobhelpers import closed_port, rows, sweep_later
from tests.test_checkout_flows import ADDRESS

SEEN: list = []


@jobs.task(name="test_record")
def _record(value):
    """Remember ``value`` with what the job saw of its context."""
    SEEN.append((value, current_app.name, _db.session().info.get("test_marker")))


@pytest.fixture(autouse=True)
def _clean():
    SEEN.clear()
    mail.clear_outbox()
    yield
    SEEN.clear()
    mail.clear_outbox()


def test_mode_follows_the_config_and_nothing_connects_when_the_app_is_built(app, app_factory):
    assert jobs.bound(app).mode == "immediate"  # the suite runs jobs at once
    assert jobs.bound(app_factory(JOBS_IMMEDIATE=False, REDIS_URL="")).mode == "embedded"
    # Redis that is not there: the app is still built (nothing connects before a hand-over).
    nowhere = app_factory(JOBS_IMMEDIATE=False, REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0")
    bound = jobs.bound(nowhere)
    assert bound.mode == "redis" and bound.name == nowhere.config["CACHE_KEY_PREFIX"] + "jobs"
    with nowhere.app_context():
        jobs.enqueue("test_record", 1)  # logged, not raised
    assert SEEN == []


def test_jobs_are_handed_over_after_the_commit_in_an_app_context_of_their_own(app, db):
    db.session.info["test_marker"] = "the caller's session"
    jobs.enqueue_after_commit(db.session, "test_record", "committed")
    assert SEEN == []
    db.session.commit()
    # It ran after the commit, in this app, with a database session that is not the caller's.
    assert SEEN == [("committed", app.name, None)]

    jobs.enqueue_after_commit(db.session, "test_record", "rolled back")
    db.session.rollback()
    db.session.commit()
    assert [value for value, *_ in SEEN] == ["committed"]


def test_periodic_jobs_are_claimed_once_per_period_across_workers(app_factory, redis_url):
    if not redis_url:
        pytest.skip("needs Redis (TEST_REDIS_URL)")
    name = f"shoptest:jobs:{uuid.uuid4().hex}"
    one, two = (jobs.bound(app_factory(JOBS_IMMEDIATE=False, JOBS_QUEUE=name)) for _ in range(2))
    spec = jobs.specs["sweep_outbox"]
    start = 60 * 29_000_000  # the start of a minute
    try:
        assert one.claim_period(spec, now=start + 1)
        assert not two.claim_period(spec, now=start + 40)  # another worker, same minute
        assert not one.claim_period(spec, now=start + 59.9)
        assert two.claim_period(spec, now=start + 60)  # the next minute
        assert not one.claim_period(spec, now=start + 61)
        assert redis.Redis.from_url(redis_url).ttl(f"{name}:period:sweep_outbox:{start // 60}") > 0
    finally:
        conn = redis.Redis.from_url(redis_url)
        for key in conn.scan_iter(f"{name}:*"):
            conn.delete(key)


def test_periods_are_crontabs_that_divide_an_hour_or_a_day():
    assert schedule_for(timedelta(minutes=5)) and schedule_for(timedelta(hours=24))
    for bad in (timedelta(minutes=7), timedelta(seconds=30), timedelta(hours=5), timedelta(days=2)):
        with pytest.raises(ValueError):
            schedule_for(bad)
    with pytest.raises(ValueError):
        jobs.task(name="sweep_outbox")(lambda: None)  # a second job with a taken name


def test_embedded_mode_runs_periodic_jobs_after_a_response_once_per_period(app_factory, db, monkeypatch):
    embedded = app_factory(JOBS_IMMEDIATE=False, REDIS_URL="")
    ran = []
    monkeypatch.setattr(outbox, "sweep", lambda now=None: ran.append("sweep") or 0)
    monkeypatch.setattr(outbox, "purge", lambda now=None: ran.append("purge") or 0)
    client = embedded.test_client()
    client.get("/healthz").close()
    assert sorted(ran) == ["purge", "sweep"]  # the first response of the process runs them
    client.get("/healthz").close()
    assert sorted(ran) == ["purge", "sweep"]  # not again in the same period


def test_a_queue_that_is_down_never_fails_the_order_and_the_sweep_sends_its_mail(app_factory, db, redis_url):
    if not redis_url:
        pytest.skip("needs Redis (TEST_REDIS_URL)")
    web = app_factory(JOBS_IMMEDIATE=False, JOBS_QUEUE=f"shoptest:jobs:{uuid.uuid4().hex}")
    # The queue's Redis goes away (the cache's Redis stays up).
    jobs.bound(web).huey.storage.conn = redis.Redis(host="127.0.0.1", port=closed_port())
    with web.app_context():
        user = make_user()
        kb = make_product(stock=3)
        headers = bearer_headers(user)
        client = web.test_client()
        client.post("/api/v1/cart/items", json={"sku": kb.sku, "quantity": 1}, headers=headers)
        resp = client.post(
            "/api/v1/orders",
            json={"shipping_address": ADDRESS, "payment_provider": "manual"},
            headers=headers,
        )
        assert resp.status_code == 201
        assert [r.status for r in rows(ORDER_CONFIRMATION)] == ["pending"]
    # A worker's sweep (here the suite's app) sends it once the row is overdue.
    assert sweep_later() == 1 and len(mail.outbox()) == 1
    assert sweep_later() == 0 and len(mail.outbox()) == 1
