"""``flask shop export-products`` and ``flask shop import-products``."""

from __future__ import annotations

import os
import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from shop.catalog.sheets.apply import confirm_import, run_import
from shop.catalog.sheets.export import export_query, iter_csv, write_xlsx
from shop.catalog.sheets.preview import create_preview
from shop.catalog.sheets.reading import SheetError, read_sheet
from shop.extensions import db
from shop.transaction import unit_of_work


@click.command("export-products")
@with_appcontext
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True), help="File (default: stdout, CSV only)."
)
def export_products_command(fmt: str, output: str | None) -> None:
    """Export every product as CSV or XLSX (SKU, name, brand, category, price, stock, ...)."""
    started = time.perf_counter()
    currency = current_app.config["SHOP_CURRENCY"]
    stmt = export_query()
    if fmt == "xlsx":
        if not output:
            raise click.UsageError("--output is required for xlsx.")
        count = write_xlsx(stmt, currency, output)
    else:
        count = -1
        out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            for chunk in iter_csv(stmt, currency):
                out.write(chunk)
                count += chunk.count("\r\n")
        finally:
            if output:
                out.close()
    if output:
        click.echo(f"{count} products written to {output} in {time.perf_counter() - started:.1f}s.", err=True)


@click.command("import-products")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
def import_products_command(path: str, dry_run: bool) -> None:
    """Import an edited product sheet (CSV or XLSX from export-products).

    Prints the preview (create / update / unchanged / failed, and every failing row as
    "line N, column C: reason"), then applies it unless --dry-run. Failing rows are skipped;
    a file that cannot be read at all exits with status 1 and changes nothing.
    """
    started = time.perf_counter()
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        sheet = read_sheet(data, path)
    except SheetError as exc:
        raise click.ClickException(f"{path}: {exc} Nothing imported.") from None
    with unit_of_work():
        record = create_preview(sheet, os.path.basename(path), None, current_app.config["SHOP_CURRENCY"])
    for warning in record.warnings:
        click.echo(f"warning: {warning}", err=True)
    for p in record.problems:
        click.echo(f"{path}, line {p['line']}, column {p['column']}: {p['reason']}", err=True)
    c = record.counts
    click.echo(
        f"{c['rows']} rows: {c['create']} to create, {c['update']} to update, {c['unchanged']} unchanged, "
        f"{c['failed']} failed ({c['conflicts']} conflicts)."
    )
    if dry_run:
        click.echo(f"Dry run: nothing changed (preview {record.id}, {time.perf_counter() - started:.1f}s).")
        return
    with unit_of_work():
        # Applied here, not by a worker: the command waits for it anyway.
        confirm_import(record.id, hand_over=False)
    run_import(record.id)
    db.session.expire_all()
    result = record.result
    for conflict in result.get("conflicts", []):
        click.echo(f"{path}, line {conflict['line']}: {conflict['reason']}", err=True)
    click.echo(
        f"Applied: {result.get('created', 0)} created, {result.get('updated', 0)} updated, "
        f"{result.get('stock_movements', 0)} stock movements, {len(result.get('conflicts', []))} conflicts "
        f"in {time.perf_counter() - started:.1f}s."
    )
