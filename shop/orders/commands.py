"""``flask shop`` commands for stock and orders."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("check-stock")
@with_appcontext
def check_stock() -> None:
    """Check that every product's stock equals the sum of its ledger; exit 1 if not."""
    from shop.catalog.models import Product
    from shop.catalog.stock import ledger_mismatches
    from shop.extensions import db

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
    from shop.extensions import db
    from shop.orders.checkout import purge_idempotency_keys as purge

    count = purge()
    db.session.commit()
    click.echo(f"Deleted {count} expired idempotency keys.")


#: Added to the ``flask shop`` group by ``shop.register_commands``.
COMMANDS = (check_stock, purge_idempotency_keys)
