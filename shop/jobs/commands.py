"""``flask shop worker``: run the job queue beside gunicorn."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from shop.extensions import jobs


@click.command("worker")
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1, max=64),
    default=None,
    help="Threads running jobs in this process (default: JOBS_WORKERS, 2).",
)
@click.option(
    "--no-periodic",
    is_flag=True,
    help="Do not schedule the periodic jobs from this process (they still run once per "
    "period however many workers schedule them).",
)
@with_appcontext
def worker(workers: int | None, no_periodic: bool) -> None:
    """Run jobs from the Redis queue until stopped (SIGTERM waits for jobs in flight).

    Start one or more beside gunicorn, on any machine, with the same settings as the web
    processes. Without REDIS_URL there is nothing to run: jobs run inside the web process.
    """
    bound = jobs.bound()
    if bound.mode != "redis":
        raise click.ClickException(
            "REDIS_URL is not set (or JOBS_IMMEDIATE is on): jobs run inside the web process, "
            "so there is no queue for a worker. Set REDIS_URL to run workers."
        )
    if not logging.getLogger("huey").handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s %(name)s: %(message)s"))
        for name in ("huey", "shop"):
            logging.getLogger(name).addHandler(handler)
            logging.getLogger(name).setLevel(logging.INFO)
    count = workers or current_app.config["JOBS_WORKERS"]
    click.echo(
        f"Worker on queue {bound.name!r}: {count} threads, periodic jobs {'off' if no_periodic else 'on'}."
    )
    bound.create_consumer(workers=count, periodic=not no_periodic).run()


#: Added to the ``flask shop`` group by ``shop.register_commands``.
COMMANDS = (worker,)
