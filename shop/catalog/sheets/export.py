"""Export products as CSV or XLSX, one row per product (see :mod:`.columns`).

Rows are read from the database in batches (``yield_per``) and written as they come, so a
catalog of 200,000 products is never held in memory: CSV is a generator of text chunks; XLSX
is written with openpyxl's write-only workbook to a file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import IO

from sqlalchemy import select

from shop.catalog.models import Product
from shop.catalog.sheets.columns import COLUMNS, category_paths, cents_to_text
from shop.catalog.staff_filters import filter_products
from shop.extensions import db

BATCH = 1000


def export_query(q: str = "", status: str = "", stock: str = ""):
    """A select of the products to export, by SKU: all, or those the staff list shows.

    Args:
        q: matched case-insensitively anywhere in name, SKU or brand ("" for any).
        status: a product status, or "" for all.
        stock: ``"out"`` (0), ``"low"`` (1 to the low-stock threshold) or "" for any.
    """
    columns = (
        Product.sku,
        Product.name,
        Product.brand,
        Product.category_id,
        Product.price_cents,
        Product.stock,
        Product.status,
        Product.description,
        Product.image_url,
    )
    return filter_products(select(*columns), q, status, stock).order_by(Product.sku)


def iter_rows(stmt, currency: str) -> Iterator[list]:
    """The sheet rows (lists in :data:`COLUMNS` order) of ``stmt``'s products, header first.

    Prices are text in human units; stock is an int, written twice (``stock`` and
    ``stock_exported``).
    """
    paths = category_paths()
    yield list(COLUMNS)
    for row in db.session.execute(stmt.execution_options(yield_per=BATCH)):
        yield [
            row.sku,
            row.name,
            row.brand,
            paths.get(row.category_id, ""),
            cents_to_text(row.price_cents, currency),
            row.stock,
            row.stock,
            row.status,
            row.description,
            row.image_url,
        ]


def iter_csv(stmt, currency: str, rows_per_chunk: int = 200) -> Iterator[str]:
    """The CSV text of ``stmt``'s products in chunks of ``rows_per_chunk`` rows (UTF-8 with a
    BOM, so spreadsheet programs read it as UTF-8)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    for n, row in enumerate(iter_rows(stmt, currency), 1):
        writer.writerow(row)
        if n % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def write_xlsx(stmt, currency: str, out: str | IO[bytes]) -> int:
    """Write ``stmt``'s products as an XLSX workbook (one sheet, ``Products``) to ``out``.

    Prices are written as numbers with two decimals shown, so they can be edited as numbers.
    Returns:
        The number of product rows written.
    """
    from openpyxl import Workbook  # here, not at import: web workers need no openpyxl (~9 MB)

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Products")
    count = -1
    price_at = COLUMNS.index("price")
    for row in iter_rows(stmt, currency):
        if count >= 0:
            row[price_at] = float(row[price_at])
        sheet.append(row)
        count += 1
    workbook.save(out)
    return count
