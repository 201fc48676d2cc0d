"""Shared pieces of the job and outbox tests: outbox rows, a mail server that is down, lost
hand-overs, a database that stops right after a commit, and a real worker process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from shop.dbtypes import utcnow
from shop.extensions import db
from shop.jobs import outbox
from shop.jobs.models import OutboxMessage
from shop.jobs.queue import BoundQueue

ROOT = Path(__file__).resolve().parent.parent


def rows(kind: str | None = None) -> list[OutboxMessage]:
    """Every outbox row (of ``kind``), oldest first, read afresh."""
    db.session.expire_all()
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(stmt))


def sweep_later(after: timedelta = timedelta(hours=2)) -> int:
    """Run the outbox sweep as if ``after`` had passed (overdue rows, expired leases)."""
    return outbox.sweep(utcnow() + after)


def closed_port() -> int:
    """A local TCP port nothing listens on (a mail server that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def hand_overs_lost():
    """Inside the block, every job hand-over is dropped, as if the process died right
    after its commit (or the queue was unreachable)."""
    original = BoundQueue.hand_over
    BoundQueue.hand_over = lambda self, name, *args: None
    try:
        yield
    finally:
        BoundQueue.hand_over = original


class DatabaseStopsAfterCommit:
    """Make every statement fail once a transaction that inserted ``model`` rows commits,
    as when PostgreSQL stops right after that commit; :meth:`restart` ends the outage.

    Its ``after_commit`` hook is put first, so even the jobs handed over at that commit
    meet the outage.
    """

    def __init__(self, engine, model) -> None:
        self.engine, self.model, self.down = engine, model, False

    def _after_flush(self, session, _ctx) -> None:
        if any(isinstance(obj, self.model) for obj in session.new):
            session.info["outage_armed"] = True

    def _after_commit(self, session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint released, not the commit
        if session.info.pop("outage_armed", False):
            self.down = True

    def _before_execute(self, conn, cursor, statement, params, context, executemany) -> None:
        if self.down:
            raise OperationalError(statement, params, ConnectionError("server closed the connection"))

    def __enter__(self):
        event.listen(Session, "after_flush", self._after_flush)
        event.listen(Session, "after_commit", self._after_commit, insert=True)
        event.listen(self.engine, "before_cursor_execute", self._before_execute)
        return self

    def restart(self) -> None:
        """The database is back."""
        self.down = False

    def __exit__(self, *exc) -> None:
        self.down = False
        event.remove(Session, "after_flush", self._after_flush)
        event.remove(Session, "after_commit", self._after_commit)
        event.remove(self.engine, "before_cursor_execute", self._before_execute)


@contextlib.contextmanager
def worker_process(database_url: str, redis_url: str, queue: str, tmp: Path, name: str = "worker", **env):
    """Run ``flask shop worker`` in a subprocess (the documented command) on the suite's
    database and Redis, with mails written as files to ``tmp / "mail"``; its output goes to
    ``tmp / f"{name}.log"``. Extra settings come as keyword arguments. Stopped with SIGTERM.
    """
    settings = dict(
        os.environ,
        FLASK_APP="wsgi",
        SHOP_CONFIG="development",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        JOBS_QUEUE=queue,
        JOBS_IMMEDIATE="false",
        MAIL_BACKEND="file",
        MAIL_OUTBOX_DIR=str(tmp / "mail"),
        CACHE_KEY_PREFIX=queue + ":",
        **env,
    )
    with open(tmp / f"{name}.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "shop", "worker", "--workers", "2"],
            cwd=ROOT,
            env=settings,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:  # pragma: no cover - a stuck worker
                proc.kill()
                proc.wait()


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1):
    """Poll ``predicate()`` until it returns something truthy (returned), or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
