"""Helpers for the product sheet tests: export to rows, edit, and back to file bytes."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook, load_workbook

from shop.catalog.sheets.export import export_query, iter_csv, write_xlsx


def export_csv_rows(**filters) -> list[dict]:
    """The CSV export (all products, or filtered) as a list of ``{column: text}``."""
    text = "".join(iter_csv(export_query(**filters), "USD"))
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def csv_bytes(rows: list[dict], columns=None) -> bytes:
    """Rows back into UTF-8 CSV bytes, as a spreadsheet program saves them."""
    columns = columns or list(rows[0])
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, columns, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def by_sku(rows: list[dict]) -> dict[str, dict]:
    """Rows indexed by SKU."""
    return {r["sku"]: r for r in rows}


def export_xlsx_rows() -> list[list]:
    """The XLSX export's cell values, header first."""
    buffer = io.BytesIO()
    write_xlsx(export_query(), "USD", buffer)
    buffer.seek(0)
    workbook = load_workbook(buffer, read_only=True)
    try:
        return [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def xlsx_bytes(rows: list[list]) -> bytes:
    """Cell values as an XLSX workbook's bytes."""
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
