"""The job queue: Huey, bound to each app's config when the app is built.

Where a job runs follows the config (:attr:`BoundQueue.mode`):

- ``redis``: ``REDIS_URL`` is set. Handing a job over pushes it onto a Redis list and
  ``flask shop worker`` processes (any number, on any machine) run it. Every worker schedules
  the periodic jobs; each run first claims its period in Redis, so one runs per period.
- ``embedded``: no ``REDIS_URL`` (``make run``). Jobs run in the web process once the
  response has been sent, so a request is neither slowed nor timed by its jobs; outside a
  request (a command) they run at once. Periodic jobs run after a response once per period.
- ``immediate``: ``JOBS_IMMEDIATE`` (the test suite). A job runs at once, in the code that
  hands it over.

Jobs are declared on :data:`shop.extensions.jobs` with :meth:`JobQueue.task` and
:meth:`JobQueue.periodic`. Each app gets a Huey instance of its own with those jobs bound to
it; every run happens inside a fresh app context of that app, so ``current_app`` and
``db.session`` work and a job never shares the caller's database session. Nothing here
connects to Redis before a job is handed over.

Queues retry: a job may run more than once and must be idempotent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
from flask import Flask, Response, current_app, g, has_app_context, has_request_context
from huey import Huey, crontab
from huey.consumer import Consumer
from huey.storage import RedisStorage
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

log = logging.getLogger(__name__)

_AFTER_COMMIT = "jobs_after_commit"  # Session.info key: jobs to hand over after the commit
_AFTER_RESPONSE = "_jobs_after_response"  # flask.g key: embedded-mode jobs of this request
_IN_JOB = "_jobs_in_job"  # flask.g key: this app context runs a job

#: A job that raises (the database is down, a bug) is retried this often by Huey, waiting
#: a minute, then two, then four. Jobs that keep their own state (the outbox) retry on
#: their own schedule by raising ``huey.exceptions.RetryTask``, which does not count here.
UNEXPECTED_RETRIES = 3
UNEXPECTED_RETRY_DELAY = 60
#: Seconds to connect to the queue's Redis, and to wait for an answer.
REDIS_CONNECT_TIMEOUT = 2
REDIS_TIMEOUT = 5


@dataclass(frozen=True)
class JobSpec:
    """A declared job: its name, the function, and for periodic jobs the period."""

    name: str
    func: Callable[..., Any]
    every: timedelta | None = None


def schedule_for(every: timedelta):
    """The Huey crontab running a job every ``every`` (UTC).

    Raises:
        ValueError: ``every`` is not a whole number of minutes dividing an hour, or of hours
            dividing a day (the periods a crontab can express evenly).
    """
    seconds = int(every.total_seconds())
    if seconds % 60 == 0 and 0 < seconds // 60 <= 60 and 60 % (seconds // 60) == 0:
        return crontab(minute=f"*/{seconds // 60}")
    if seconds % 3600 == 0 and 0 < seconds // 3600 <= 24 and 24 % (seconds // 3600) == 0:
        return crontab(minute="0", hour=f"*/{seconds // 3600}")
    raise ValueError(f"unsupported period {every}: use minutes dividing 60 or hours dividing 24")


class JobQueue:
    """The jobs extension: declare jobs at import, bind them to each app in ``init_app``."""

    def __init__(self) -> None:
        self.specs: dict[str, JobSpec] = {}
        _install_session_hooks()

    def task(self, name: str | None = None) -> Callable:
        """Decorator declaring a job; the function is returned unchanged (call it to run it
        here and now, or hand it over by name with :meth:`enqueue`).

        Raises:
            ValueError: another job already has this name.
        """

        def decorator(func):
            self._declare(JobSpec(name or func.__name__, func))
            return func

        return decorator

    def periodic(self, every: timedelta, name: str | None = None) -> Callable:
        """Decorator declaring a job that runs once every ``every`` (see :func:`schedule_for`),
        however many workers run.

        Raises:
            ValueError: an unsupported period, or another job already has this name.
        """
        schedule_for(every)

        def decorator(func):
            self._declare(JobSpec(name or func.__name__, func, every))
            return func

        return decorator

    def _declare(self, spec: JobSpec) -> None:
        known = self.specs.get(spec.name)
        if known is not None and known.func is not spec.func:
            raise ValueError(f"a job named {spec.name!r} is already declared")
        self.specs[spec.name] = spec

    def init_app(self, app: Flask) -> None:
        """Bind the queue to ``app``'s config (no connection is made here)."""
        app.extensions["jobs"] = BoundQueue(app, self)
        app.after_request(_run_after_response)
        app.teardown_request(_run_leftovers)

    def bound(self, app: Flask | None = None) -> BoundQueue:
        """The queue bound to ``app`` (default: the current app)."""
        return (app or current_app).extensions["jobs"]

    def enqueue(self, name: str, *args: Any) -> None:
        """Hand job ``name`` over now (only for work no uncommitted change depends on; see
        :meth:`enqueue_after_commit`). Never raises: a failure to hand over is logged."""
        self.bound().hand_over(name, *args)

    def enqueue_after_commit(self, session, name: str, *args: Any) -> None:
        """Hand job ``name`` over once ``session``'s transaction commits (nothing on rollback).

        A crash between the commit and the hand-over loses the job: for work that must not
        be lost, write a row in the transaction instead (the outbox) and let a sweep find it.
        """
        if isinstance(session, scoped_session):
            session = session()
        if not session.in_transaction():
            # Begin one (no connection yet), so a rollback before the next commit drops the job.
            session.begin()
        session.info.setdefault(_AFTER_COMMIT, []).append((name, args))


class BoundQueue:
    """One app's queue: its mode, its Huey instance and the jobs bound to it."""

    def __init__(self, app: Flask, queue: JobQueue) -> None:
        cfg = app.config
        self.app = app
        self.queue = queue
        self.name = cfg.get("JOBS_QUEUE") or cfg["CACHE_KEY_PREFIX"] + "jobs"
        if cfg.get("JOBS_IMMEDIATE"):
            self.mode = "immediate"
        elif cfg.get("REDIS_URL"):
            self.mode = "redis"
        else:
            self.mode = "embedded"
        if self.mode == "redis":
            # Time-outs, so a Redis that is unreachable fails a hand-over in seconds instead
            # of holding the request that committed (the socket one exceeds the workers'
            # one-second blocking reads).
            pool = redis.ConnectionPool.from_url(
                cfg["REDIS_URL"], socket_connect_timeout=REDIS_CONNECT_TIMEOUT, socket_timeout=REDIS_TIMEOUT
            )
            self.huey = Huey(
                self.name,
                results=False,
                utc=True,
                storage_class=RedisStorage,
                connection_pool=pool,
                clean_name=False,
            )
        else:
            # Huey's immediate mode: in-memory storage, a job runs when it is enqueued.
            self.huey = Huey(self.name, results=False, utc=True, immediate=True)
        self._wrappers: dict[str, Any] = {}
        self._periods: dict[str, int] = {}  # in-process period claims (no Redis)
        self._lock = threading.Lock()

    # --- binding ------------------------------------------------------------------------------

    def wrapper(self, name: str):
        """The Huey task of job ``name`` on this app's Huey, bound on first use.

        Raises:
            KeyError: no job of that name was declared.
        """
        with self._lock:
            if name not in self._wrappers:
                self._wrappers[name] = self._bind(self.queue.specs[name])
            return self._wrappers[name]

    def _bind(self, spec: JobSpec):
        app = self.app
        if spec.every is None:

            def run(*args):
                with app.app_context():
                    g.setdefault(_IN_JOB, True)
                    return spec.func(*args)

            return self.huey.task(
                name=spec.name,
                retries=UNEXPECTED_RETRIES,
                retry_delay=UNEXPECTED_RETRY_DELAY,
                retry_backoff=2,
            )(run)

        def run_periodic():
            with app.app_context():
                g.setdefault(_IN_JOB, True)
                if self.claim_period(spec):
                    log.info("running periodic job %s", spec.name)
                    return spec.func()
                log.info("periodic job %s already ran in this period", spec.name)
                return None

        return self.huey.periodic_task(schedule_for(spec.every), name=spec.name)(run_periodic)

    # --- periods --------------------------------------------------------------------------------

    def period_index(self, spec: JobSpec, now: float | None = None) -> int:
        """Which period (counted from the epoch, UTC) ``now`` falls in.

        Workers schedule a periodic job at any second of the minute the crontab matches, so
        the period is the floor of the time: every run scheduled for one period claims the
        same index.
        """
        every = int(spec.every.total_seconds())
        return int((time.time() if now is None else now) // every)

    def claim_period(self, spec: JobSpec, now: float | None = None) -> bool:
        """Claim this period's run of a periodic job; False if a run already claimed it.

        On Redis one ``SET NX`` key per period (expiring after two periods) is shared by all
        workers on all machines; without Redis there is one process, and a claim in memory.
        """
        index = self.period_index(spec, now)
        if self.mode == "redis":
            key = f"{self.name}:period:{spec.name}:{index}"
            ttl = max(int(spec.every.total_seconds()) * 2, 120)
            return bool(self.huey.storage.conn.set(key, "1", nx=True, ex=ttl))
        with self._lock:
            if self._periods.get(spec.name) == index:
                return False
            self._periods[spec.name] = index
            return True

    def periodic_due(self, now: float | None = None) -> list[JobSpec]:
        """Periodic jobs whose current period has no in-process run yet (embedded mode)."""
        return [
            spec
            for spec in self.queue.specs.values()
            if spec.every is not None and self._periods.get(spec.name) != self.period_index(spec, now)
        ]

    # --- handing over ---------------------------------------------------------------------------

    def hand_over(self, name: str, *args: Any) -> None:
        """Queue job ``name`` as the mode says (see the module doc). Never raises: a job that
        cannot be handed over is logged, and whatever depends on it must have a sweep."""
        try:
            # A job's own hand-overs run at once: it is already past the response.
            if self.mode == "embedded" and has_request_context() and not g.get(_IN_JOB):
                g.setdefault(_AFTER_RESPONSE, []).append((name, args))
            else:
                self.wrapper(name)(*args)
        except Exception:
            log.exception("job %s%r could not be handed over", name, args)

    def run_now(self, jobs: list[tuple[str, tuple]]) -> None:
        """Run jobs in this process (Huey's immediate mode logs a job's exception)."""
        for name, args in jobs:
            try:
                self.wrapper(name)(*args)
            except Exception:
                log.exception("job %s%r failed", name, args)

    def run_due_periodic(self) -> None:
        """Run the periodic jobs whose period has come (embedded mode, after a response)."""
        self.run_now([(spec.name, ()) for spec in self.periodic_due()])

    def create_consumer(self, workers: int, periodic: bool = True, shutdown_timeout: float = 25) -> Consumer:
        """A Huey consumer running this app's jobs in ``workers`` threads.

        SIGTERM stops it gracefully (jobs in flight finish, up to ``shutdown_timeout``
        seconds), as container runtimes stop processes; SIGINT stops it at once.

        Raises:
            RuntimeError: the queue is not on Redis (embedded or immediate mode).
        """
        if self.mode != "redis":
            raise RuntimeError(
                "REDIS_URL is not set: jobs run inside the web process; set REDIS_URL to run workers."
            )
        for name in self.queue.specs:
            self.wrapper(name)
        return self.huey.create_consumer(
            workers=workers,
            worker_type="thread",
            periodic=periodic,
            check_worker_health=True,
            graceful_signal="TERM",
            shutdown_timeout=shutdown_timeout,
        )


# --- request and session hooks --------------------------------------------------------------------


def _run_after_response(response: Response) -> Response:
    """Embedded mode: run this request's jobs (and due periodic ones) once the response has
    been sent, so the client neither waits for them nor can time them."""
    bound: BoundQueue = current_app.extensions["jobs"]
    if bound.mode != "embedded":
        return response
    pending = g.pop(_AFTER_RESPONSE, [])
    if pending or bound.periodic_due():

        def run():
            bound.run_now(pending)
            bound.run_due_periodic()

        response.call_on_close(run)
    return response


def _run_leftovers(_exc: BaseException | None) -> None:
    """Jobs handed over after the response was made (a commit in a teardown) run now."""
    pending = g.pop(_AFTER_RESPONSE, None)
    if pending:
        current_app.extensions["jobs"].run_now(pending)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released; the jobs wait for the real commit
    pending = session.info.pop(_AFTER_COMMIT, None)
    if not pending or not has_app_context():
        return
    try:
        bound: BoundQueue = current_app.extensions["jobs"]
        for name, args in pending:
            bound.hand_over(name, *args)
    except Exception:  # an error here would surface from commit(), after the data is saved
        log.exception("jobs %r not handed over after a commit", pending)


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    # Only the outermost rollback undoes the transaction; a savepoint's rollback keeps what
    # the outer transaction did before it (a job handed over for a row that a savepoint
    # undid finds no row and does nothing).
    if previous_transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)


def _install_session_hooks() -> None:
    """Listen to every session's commits and rollbacks, once per process."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
