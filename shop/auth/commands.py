"""``flask shop`` commands for auth."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from shop.auth import services
from shop.exceptions import ShopError
from shop.extensions import db
from shop.transaction import unit_of_work


@click.command("create-admin")
@with_appcontext
@click.option("--email", prompt="E-mail", help="The admin's e-mail address.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The password (prompted, with confirmation, when omitted).",
)
@click.option("--name", default="", help="Display name for a new account.")
def create_admin(email: str, password: str, name: str) -> None:
    """Create an admin account, or promote an existing account (and set its password)."""
    try:
        with unit_of_work():
            user = services.get_user_by_email(email)
            if user is None:
                user = services.register_user(email, password, name=name, role="admin")
                action = "Created"
            else:
                services.set_password(user, password)
                user.role = "admin"
                db.session.flush()
                action = "Promoted"
    except ShopError as exc:
        problems = "; ".join(m for msgs in exc.errors.values() for m in msgs)
        raise click.ClickException(f"{exc.detail} {problems}".strip()) from None
    click.echo(f"{action} admin {user.email} (id {user.id}).")


#: Added to the ``flask shop`` group by ``shop.register_commands``.
COMMANDS = (create_admin,)
