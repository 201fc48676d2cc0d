"""The harness of the PostgreSQL contention tests: jobs released together by a barrier, each
in its own thread and app context (so its own session, connection and transaction),
committing as a request would."""

from __future__ import annotations

import threading

import pytest

from shop.exceptions import Conflict
from shop.extensions import db as _db


def pg_app(app_factory, db, threads: int, why: str):
    """A second app on the suite's PostgreSQL database whose pool has a connection for each
    of ``threads``; skips the test on SQLite (which lets one writer in at a time: ``why``)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip(f"needs PostgreSQL: {why}")
    return app_factory(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 5, "max_overflow": threads, "pool_timeout": 60}
    )


def race(app, jobs: list) -> list:
    """Run every job at once, each in its own thread and app context, committing what it did.

    A job is a callable returning a value (read it before the commit: e.g. an id), or an
    object with ``prepare()`` (run before the barrier, e.g. to load a cart) and
    ``run(prepared)``.

    Returns:
        Per job, ``("done", value)`` or ``("refused", Conflict)`` after a rollback
        (``InvalidTransition`` and ``OutOfStock`` are Conflicts too). Anything else (a
        deadlock, a constraint, a hang) fails the test.
    """
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i, job):
        with app.app_context():
            try:
                prepared = job.prepare() if hasattr(job, "prepare") else None
                barrier.wait()
                value = job.run(prepared) if hasattr(job, "run") else job()
                _db.session.commit()
                results[i] = ("done", value)
            except Conflict as exc:
                _db.session.rollback()
                results[i] = ("refused", exc)
            except Exception as exc:  # noqa: BLE001 - surfaced as a failure below
                _db.session.rollback()
                results[i] = ("error", exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    errors = [r[1] for r in results if r[0] == "error"]
    assert not errors, errors
    return results
