"""``flask shop`` commands for stock, orders and carts."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from shop.catalog.models import Product
from shop.catalog.stock import ledger_mismatches
from shop.extensions import db
from shop.orders.cart import purge_guest_carts
from shop.orders.idempotency import purge_idempotency_keys as purge_keys


@click.command("check-stock")
@with_appcontext
def check_stock() -> None:
    """Check that every product's stock equals the sum of its ledger; exit 1 if not."""
    mismatches = ledger_mismatches()
    checked = db.session.query(Product).count()
    if not mismatches:
        click.echo(f"OK: stock matches the ledger for all {checked} products.")
        return
    click.echo(f"{len(mismatches)} of {checked} products differ from the ledger:", err=True)
    click.echo(f"{'product_id':>10}  {'sku':<20} {'stock':>8} {'ledger':>8} {'diff':>8}", err=True)
    for m in mismatches:
        click.echo(
            f"{m['product_id']:>10}  {m['sku']:<20} {m['stock']:>8} {m['ledger']:>8} "
            f"{m['stock'] - m['ledger']:>+8}",
            err=True,
        )
    raise SystemExit(1)


@click.command("purge-idempotency-keys")
@with_appcontext
def purge_idempotency_keys() -> None:
    """Delete API Idempotency-Keys older than IDEMPOTENCY_KEY_TTL (never under 24 hours)."""
    count = purge_keys()
    db.session.commit()
    click.echo(f"Deleted {count} expired idempotency keys.")


@click.command("purge-carts")
@click.option(
    "--older-than-days",
    type=click.IntRange(min=1),
    default=None,
    help="Age in days of the guest carts to delete (default: GUEST_CART_MAX_AGE, 30 days).",
)
@with_appcontext
def purge_carts(older_than_days: int | None) -> None:
    """Delete guest carts nobody touched for GUEST_CART_MAX_AGE (customers' carts stay)."""
    age = timedelta(days=older_than_days) if older_than_days else current_app.config["GUEST_CART_MAX_AGE"]
    count = purge_guest_carts(age)
    db.session.commit()
    click.echo(f"Deleted {count} guest carts untouched for {age.days} days or more.")


#: Added to the ``flask shop`` group by ``shop.register_commands``.
COMMANDS = (check_stock, purge_idempotency_keys, purge_carts)
