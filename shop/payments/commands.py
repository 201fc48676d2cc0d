"""``flask shop`` commands for payments."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from shop.payments.expiry import expire_unpaid


@click.command("expire-unpaid")
@with_appcontext
def expire_unpaid_command() -> None:
    """Cancel card orders not paid within UNPAID_ORDER_TIMEOUT and release their stock."""
    numbers = expire_unpaid()
    minutes = int(current_app.config["UNPAID_ORDER_TIMEOUT"].total_seconds() // 60)
    click.echo(f"Cancelled {len(numbers)} card orders unpaid after {minutes} minutes.")
    for number in numbers:
        click.echo(f"  {number}")


#: Added to the ``flask shop`` group by ``shop.register_commands``.
COMMANDS = (expire_unpaid_command,)
