"""Read an uploaded product sheet (CSV or XLSX) into rows of text cells with line numbers.

CSV must be UTF-8 (a BOM is fine). A row holding bytes that are not UTF-8 is not refused as
a whole file: its cells are decoded with ``surrogateescape`` and the row is reported as
failing (bad encoding) with its line and column, so every other row still counts.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from shop.catalog.sheets.columns import COLUMNS

_UNDECODABLE = re.compile("[\udc80-\udcff]")
XLSX_MAGIC = b"PK\x03\x04"


class SheetError(Exception):
    """The file cannot be read as a product sheet at all (no SKU column, not a workbook)."""


@dataclass
class SheetRow:
    """One data row: ``line`` (1 is the header), ``cells`` ``{column: text}`` for the known
    columns present, ``bad_encoding`` the columns whose bytes were not UTF-8."""

    line: int
    cells: dict[str, str]
    bad_encoding: list[str] = field(default_factory=list)


@dataclass
class Sheet:
    """A readable sheet: the known ``columns`` present, ``ignored`` unknown headers, and
    ``rows``, an iterator of :class:`SheetRow` (read once)."""

    columns: list[str]
    ignored: list[str]
    rows: Iterator[SheetRow]


def is_xlsx(data: bytes, filename: str = "") -> bool:
    """True when the upload is an XLSX workbook (by its zip signature or its name)."""
    return data[:4] == XLSX_MAGIC or filename.lower().endswith(".xlsx")


def read_sheet(data: bytes, filename: str = "") -> Sheet:
    """The rows of an uploaded sheet.

    Args:
        data: the file's bytes (CSV in UTF-8, or XLSX: the first worksheet is read).
        filename: used only to tell XLSX from CSV when the bytes do not say.
    Raises:
        SheetError: empty file, a workbook that cannot be opened, or no ``sku`` column.
    """
    if not data.strip():
        raise SheetError("The file is empty.")
    raw_rows = _xlsx_rows(data) if is_xlsx(data, filename) else _csv_rows(data)
    try:
        _line, header = next(raw_rows)
    except StopIteration:
        raise SheetError("The file is empty.") from None
    names = [str(h or "").strip().lower() for h in header]
    if "sku" not in names:
        raise SheetError("Line 1: no 'sku' column; export the products first and edit that file.")
    positions = {name: i for i, name in reversed(list(enumerate(names))) if name in COLUMNS}
    ignored = [n for n in names if n and n not in COLUMNS]
    return Sheet(list(positions), ignored, _rows(raw_rows, positions))


def _rows(raw_rows, positions: dict[str, int]) -> Iterator[SheetRow]:
    """Known columns' cells of every non-empty row."""
    for line, values in raw_rows:
        if not any(str(v).strip() for v in values if v is not None):
            continue
        cells = {name: _text(values[i]) if i < len(values) else "" for name, i in positions.items()}
        bad = [name for name, text in cells.items() if _UNDECODABLE.search(text)]
        yield SheetRow(line, cells, bad)


def _text(value) -> str:
    """A cell as stripped text; a whole float (``12.0``) without its ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_rows(data: bytes) -> Iterator[tuple[int, list]]:
    """``(line, values)`` of a CSV file; ``line`` is where the row starts."""
    text = data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a field over the csv module's limit (128 KiB)
            raise SheetError(f"Line {line}: not readable as CSV ({exc}); nothing imported.") from None
        yield line, values
        line = reader.line_num + 1


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list]]:
    """``(row number, values)`` of the first worksheet."""
    from openpyxl import load_workbook  # here, not at import: web workers need no openpyxl (~9 MB)

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise SheetError(f"Not a readable XLSX workbook ({exc.__class__.__name__}).") from None
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
            yield number, list(values)
    finally:
        workbook.close()


def estimate_rows(data: bytes, filename: str = "") -> int:
    """About how many data rows the file has, for a progress bar: a CSV's line breaks (a
    cell with a line break in it counts twice), an XLSX sheet's recorded dimension; 0 when
    unknown."""
    if not is_xlsx(data, filename):
        return max(data.count(b"\n") - (0 if data.endswith(b"\n") else -1) - 1, 0)
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return 0
    try:
        return max((workbook.worksheets[0].max_row or 1) - 1, 0)
    finally:
        workbook.close()
