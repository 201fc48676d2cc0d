"""``flask shop`` commands for catalog."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from shop.cache import bump_catalog_version
from shop.catalog import images
from shop.catalog.importer import import_catalog
from shop.catalog.models import Product
from shop.catalog.sample import make_sample
from shop.catalog.sheets import commands as sheet_commands
from shop.catalog.sourcefiles import SourceFileError
from shop.extensions import db
from shop.search import index as search_index
from shop.transaction import unit_of_work


@click.command("import-catalog")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--attributes",
    "attributes",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="JSONL(.gz) file with the full records (attr_* fields); repeat for each part.",
)
@click.option(
    "--overwrite-staff-edits",
    is_flag=True,
    help="Set name, price, category and status from the file even where staff changed them.",
)
def import_catalog_command(path: str, attributes: tuple[str, ...], overwrite_staff_edits: bool) -> None:
    """Import or update products from PATH (products.csv or .csv.gz); safe to run again.

    Every bad input is printed to stderr as "file, line N, column C: reason". Bad rows and
    lines are skipped (exit status 0); a file that cannot be read as a whole (truncated
    gzip, not UTF-8, missing columns) is refused and nothing is imported (exit status 1).
    A name, price, category or status that staff changed since the last import is kept and
    listed as a conflict, unless --overwrite-staff-edits is given.
    """
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(length=total, label="Importing products")
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        with unit_of_work():
            report = import_catalog(
                path, attributes, progress=progress, overwrite_staff_edits=overwrite_staff_edits
            )
        with db.engine.begin() as conn:
            search_index.analyze(conn)
    except SourceFileError as exc:
        raise click.ClickException(f"{exc.problem}; nothing imported.") from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for problem in report.warnings:
        click.echo(f"warning: {problem}", err=True)
    for problem in report.attribute_errors + report.errors:
        click.echo(str(problem), err=True)
    click.echo(
        f"{report.rows} rows: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.errors)} skipped in {report.seconds:.1f}s."
    )
    if report.attribute_errors:
        click.echo(f"{len(report.attribute_errors)} attribute lines skipped.")
    for edit in report.staff_edits:
        click.echo(f"conflict: {edit}", err=True)
    if report.staff_edits:
        verb = "overwritten" if overwrite_staff_edits else "kept (--overwrite-staff-edits replaces them)"
        click.echo(f"{len(report.staff_edits)} staff edits {verb}.")
    outside = report.imported - report.categories.get(report.fallback, 0)
    click.echo(
        f"Category coverage: {outside}/{report.imported} products ({report.coverage:.1%}) "
        f"outside '{report.fallback}'."
    )


@click.command("make-sample")
@with_appcontext
@click.option(
    "--source",
    default="../shared/data/icecat_chorus",
    show_default=True,
    type=click.Path(exists=True, file_okay=False),
    help="Folder with the full catalog files.",
)
@click.option("--out", default="data/sample", show_default=True, type=click.Path(file_okay=False))
@click.option("--size", default=2000, show_default=True, help="About how many products.")
def make_sample_command(source: str, out: str, size: int) -> None:
    """Regenerate the repository's sample catalog (stratified by category, deterministic)."""
    taken = make_sample(source, out, target=size)
    click.echo(f"{sum(taken.values())} products in {len(taken)} categories written to {out}.")


#: Added to the ``flask shop`` group by ``shop.register_commands``.
@click.command("fetch-images")
@with_appcontext
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for each image.")
@click.option("--retry-failed", is_flag=True, help="Try again the images that failed on an earlier run.")
@click.option("--limit", type=int, default=None, help="Stop after this many products (a trial run).")
def fetch_images_command(timeout: float, retry_failed: bool, limit: int | None) -> None:
    """Fetch the products' images into the shop's image folder, with a progress bar.

    Resumable: images already stored are skipped, and so are earlier failures unless
    --retry-failed. A product whose image cannot be fetched keeps its placeholder; the run
    goes on and reports the count (exit status 0). Thumbnails are made on first request.
    """
    stmt = (
        db.select(Product.sku, Product.image_url)
        .where(Product.status == "active", Product.image_url != "")
        .order_by(Product.id)
    )
    rows = db.session.execute(stmt.limit(limit) if limit else stmt).all()
    db.session.rollback()  # no transaction held open while the network is waited for
    with click.progressbar(length=len(rows), label="Fetching images", show_pos=True, file=sys.stderr) as bar:
        report = images.fetch_images(
            [(sku, url) for sku, url in rows],
            timeout=timeout,
            retry_failed=retry_failed,
            on_progress=lambda _sku, _outcome: bar.update(1),
        )
    if report.fetched:
        bump_catalog_version()  # the cached pages show the stored images from now on
    click.echo(
        f"{report.fetched} fetched, {report.skipped} already stored or failed before, "
        f"{report.failed} failed (placeholder kept); images in {images.image_root()}"
    )


COMMANDS = (
    fetch_images_command,
    import_catalog_command,
    make_sample_command,
    sheet_commands.export_products_command,
    sheet_commands.import_products_command,
)
