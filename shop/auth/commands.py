"""``flask shop`` commands for auth."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from shop import audit
from shop.auth import logins, services
from shop.exceptions import ShopError
from shop.extensions import db
from shop.transaction import unit_of_work

#: The note on the audit entries of changes made from the command line.
NOTE = "flask shop create-admin"


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
@click.option(
    "--keep-api-tokens",
    is_flag=True,
    help="For an existing account: keep its API tokens (a new password revokes them by default).",
)
def create_admin(email: str, password: str, name: str, keep_api_tokens: bool) -> None:
    """Create an admin account, or promote an existing account and set its password (which
    signs it out everywhere and revokes its API tokens unless --keep-api-tokens). Each change
    is in the audit log with no actor and the command as its note."""
    try:
        with unit_of_work():
            user = services.get_user_by_email(email)
            if user is None:
                user = services.register_user(email, password, name=name, role="admin")
                audit.record(
                    "user.create", "user", user.id, user.email, {"role": [None, "admin"]}, None, NOTE
                )
                action = "Created"
            else:
                services.set_password(user, password, keep_api_tokens=keep_api_tokens, note=NOTE)
                if user.role != "admin":
                    audit.record(
                        "user.role", "user", user.id, user.email, {"role": [user.role, "admin"]}, None, NOTE
                    )
                user.role = "admin"
                db.session.flush()
                action = "Promoted"
    except ShopError as exc:
        problems = "; ".join(m for msgs in exc.errors.values() for m in msgs)
        raise click.ClickException(f"{exc.detail} {problems}".strip()) from None
    click.echo(f"{action} admin {user.email} (id {user.id}).")


@click.command("purge-logins")
@with_appcontext
def purge_logins() -> None:
    """Delete logins older than LOGIN_MAX_AGE (they no longer sign anyone in)."""
    count = logins.purge_logins()
    db.session.commit()
    click.echo(f"Deleted {count} expired logins.")


#: Added to the ``flask shop`` group by ``shop.register_commands``.
COMMANDS = (create_admin, purge_logins)
