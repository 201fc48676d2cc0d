"""What an uploaded sheet would change: the plan shown to staff before anything is written.

Each data row becomes one of:

- ``create``: an unknown SKU (``name`` and ``price`` required; status ``draft`` unless given);
- ``update``: a known SKU with at least one cell that differs from the product;
- ``unchanged``: a known SKU whose cells match the product;
- ``failed``: a bad row, with line, column and reason (bad price, unknown category, negative
  stock, duplicate SKU in the file, bad encoding, ...) or a **conflict**: the stock was
  edited in the sheet but the product's stock is no longer what the export showed (a sale
  since the export). A failed row changes nothing; every other row still counts.

The plan and a fingerprint of the affected products (``updated_at`` and stock) are stored in
a :class:`ProductImport`; confirming applies exactly that plan (:mod:`.apply`). An upload
from the admin page is planned by a background job (:mod:`.planning`), with its progress
on the page; the command line plans at once (:func:`create_preview`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from shop.catalog.models import PRODUCT_STATUSES, Product, ProductImport
from shop.catalog.sheets.columns import category_lookup
from shop.catalog.sheets.reading import Sheet, SheetRow
from shop.extensions import db
from shop.money import parse_money

CHUNK = 1000
#: Failing rows kept for display (all are counted).
MAX_PROBLEMS = 5000
_TEXT_LIMITS = {"sku": 64, "name": 500, "brand": 120, "description": 20000, "image_url": 500}
#: Sheet column -> the product field it sets.
_FIELD = {
    "name": "name",
    "brand": "brand",
    "category": "category_id",
    "price": "price_cents",
    "status": "status",
    "description": "description",
    "image_url": "image_url",
}


class RowProblem(Exception):
    """A cell that cannot be imported: ``column`` and ``reason`` (``conflict`` for a stock
    that moved since the export)."""

    def __init__(self, column: str, reason: str, conflict: bool = False) -> None:
        super().__init__(reason)
        self.column, self.reason, self.conflict = column, reason, conflict


def seen_of(updated_at, stock: int) -> list:
    """The snapshot a plan keeps of a product: ``[updated_at ISO text, stock]``."""
    return [updated_at.isoformat() if updated_at else None, stock]


def fingerprint(plan: list[dict]) -> str:
    """SHA-256 (hex) of the plan's snapshots of the products it touches, kept with the
    preview as its digest. Confirming compares the snapshots product by product
    (:func:`shop.catalog.sheets.apply.changed_since_preview`), so a refusal can name them."""
    items = sorted((e["sku"], e.get("seen")) for e in plan)
    return hashlib.sha256(json.dumps(items, default=str).encode()).hexdigest()


class _Planner:
    """Turns sheet rows into plan entries, counting outcomes and collecting problems."""

    def __init__(self, columns: list[str], currency: str) -> None:
        self.columns = columns
        self.currency = currency
        self.categories = category_lookup()
        self.first_line: dict[str, int] = {}
        self.plan: list[dict] = []
        self.problems: list[dict] = []
        self.counts = {"rows": 0, "create": 0, "update": 0, "unchanged": 0, "failed": 0, "conflicts": 0}

    def add_chunk(self, rows: list[SheetRow]) -> None:
        """Plan a chunk of rows, reading their known products in one query."""
        skus = {r.cells.get("sku", "") for r in rows if not r.bad_encoding}
        known = {
            p.sku: p
            for p in db.session.execute(
                select(Product.__table__).where(Product.sku.in_([s for s in skus if s]))
            )
        }
        for row in rows:
            self.counts["rows"] += 1
            try:
                entry = self._entry(row, known)
            except RowProblem as problem:
                self._fail(row, problem)
                continue
            if entry is None:
                self.counts["unchanged"] += 1
            else:
                self.counts[entry["action"]] += 1
                self.plan.append(entry)

    def _fail(self, row: SheetRow, problem: RowProblem) -> None:
        self.counts["failed"] += 1
        self.counts["conflicts"] += problem.conflict
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(
                {
                    "line": row.line,
                    "column": problem.column,
                    "sku": row.cells.get("sku", "") if "sku" not in row.bad_encoding else "",
                    "reason": problem.reason,
                    "conflict": problem.conflict,
                }
            )

    def _entry(self, row: SheetRow, known: dict) -> dict | None:
        """The row's plan entry, None when it changes nothing. Raises RowProblem."""
        sku = self._sku(row)
        values = self._values(row)
        product = known.get(sku)
        stock = self._stock(row)
        if product is None:
            return self._create(row, sku, values, stock)
        changes = {k: v for k, v in values.items() if getattr(product, k) != v}
        entry: dict[str, Any] = {"line": row.line, "sku": sku, "action": "update", "product_id": product.id}
        if stock is not None and stock != product.stock:
            expected = self._checked_expected_stock(row, stock, product.stock)
            if expected is not None:
                entry.update(stock=stock, expected_stock=expected)
        if not changes and "stock" not in entry:
            return None
        entry.update(
            changes=changes,
            before={k: getattr(product, k) for k in changes},
            seen=seen_of(product.updated_at, product.stock),
        )
        return entry

    def _sku(self, row: SheetRow) -> str:
        """The row's SKU, checked (encoding, present, length, once in the file)."""
        if row.bad_encoding:
            raise RowProblem(row.bad_encoding[0], "bad encoding: the file is not UTF-8 here")
        sku = row.cells.get("sku", "")
        if not sku:
            raise RowProblem("sku", "no SKU")
        if len(sku) > _TEXT_LIMITS["sku"]:
            raise RowProblem("sku", f"SKU longer than {_TEXT_LIMITS['sku']} characters")
        if sku in self.first_line:
            raise RowProblem("sku", f"duplicate SKU in the file (first on line {self.first_line[sku]})")
        self.first_line[sku] = row.line
        return sku

    def _checked_expected_stock(self, row: SheetRow, stock: int, current: int) -> int | None:
        """The stock the export showed, when the sheet's stock differs from the product's.

        Returns None when the sheet's stock was not edited (it still shows the exported
        figure; a sale since then is no reason to touch the stock).
        Raises:
            RowProblem: no exported figure, or a conflict: edited in the sheet while the
                product's stock moved away from the exported figure.
        """
        text = row.cells.get("stock_exported", "")
        if not text:
            raise RowProblem("stock_exported", "no exported stock: cannot tell which stock you edited")
        expected = _count(text, "stock_exported")
        if stock == expected:
            return None
        if current != expected:
            raise RowProblem(
                "stock",
                f"conflict: the stock is now {current}, the export showed {expected} "
                f"(a sale or another edit since the export); row not applied",
                conflict=True,
            )
        return expected

    def _create(self, row: SheetRow, sku: str, values: dict, stock: int | None) -> dict:
        for column, field in (("name", "name"), ("price", "price_cents")):
            if field not in values:
                raise RowProblem(column, f"new product {sku}: {column} required")
        values.setdefault("status", "draft")
        return {
            "line": row.line,
            "sku": sku,
            "action": "create",
            "changes": values,
            "stock": stock or 0,
            "seen": None,
        }

    def _values(self, row: SheetRow) -> dict[str, Any]:
        """The product fields of the row's cells (absent columns leave fields alone)."""
        values: dict[str, Any] = {}
        for column, field in _FIELD.items():
            if column in self.columns:
                values[field] = self._value(column, row.cells.get(column, ""))
        return values

    def _value(self, column: str, text: str) -> Any:
        """One cell as the product field's value. Raises RowProblem."""
        if column == "category":
            return self._category(text)
        if column == "price":
            return self._price(text)
        if column == "status":
            status = text.lower()
            if status not in PRODUCT_STATUSES:
                raise RowProblem(column, f"status must be one of {', '.join(PRODUCT_STATUSES)}, not {text!r}")
            return status
        if column == "name" and not text:
            raise RowProblem(column, "name is empty")
        if len(text) > _TEXT_LIMITS[column]:
            raise RowProblem(column, f"longer than {_TEXT_LIMITS[column]} characters")
        if column == "image_url" and text and not text.lower().startswith(("http://", "https://")):
            raise RowProblem(column, f"not an http(s) URL: {text[:60]!r}")
        return text

    def _category(self, text: str) -> int | None:
        if not text:
            return None
        cid = self.categories.get(" > ".join(p.strip() for p in text.split(">")).lower())
        if cid is None:
            raise RowProblem("category", f"unknown category {text!r}")
        return cid

    def _price(self, text: str) -> int:
        if not text:
            raise RowProblem("price", "no price")
        try:
            return parse_money(text, self.currency)
        except ValueError:
            raise RowProblem("price", f"bad price {text!r}") from None

    def _stock(self, row: SheetRow) -> int | None:
        if "stock" not in self.columns or row.cells.get("stock", "") == "":
            return None
        return _count(row.cells["stock"], "stock")


def _count(text: str, column: str) -> int:
    """A stock figure: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise RowProblem(column, f"stock must be a whole number, not {text!r}") from None
    if value < 0:
        raise RowProblem(column, f"negative stock ({value})")
    return value


def plan_sheet(
    sheet: Sheet, currency: str, progress: Callable[[int], None] | None = None
) -> tuple[list[dict], list[dict], dict[str, int]]:
    """Plan a sheet's rows against the catalog (reads only).

    Returns:
        ``(plan, problems, counts)``: the entries to apply, the failing rows
        (``{line, column, sku, reason, conflict}``), and ``{rows, create, update,
        unchanged, failed, conflicts}``.
    """
    planner = _Planner(sheet.columns, currency)
    chunk: list[SheetRow] = []
    for row in sheet.rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            planner.add_chunk(chunk)
            chunk = []
            if progress:
                progress(planner.counts["rows"])
    if chunk:
        planner.add_chunk(chunk)
    return planner.plan, planner.problems, planner.counts


def planned_values(
    sheet: Sheet, currency: str, progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """The preview's columns of a :class:`ProductImport` for ``sheet`` (status ``previewed``)."""
    plan, problems, counts = plan_sheet(sheet, currency, progress)
    return {
        "status": "previewed",
        "plan": plan,
        "problems": problems,
        "warnings": [f"column {name!r} is not known and was ignored" for name in sheet.ignored],
        "counts": counts,
        "fingerprint": fingerprint(plan),
        "result": {},
        "processed": 0,
        "total": len(plan),
    }


def create_preview(sheet: Sheet, filename: str, actor_id: int | None, currency: str) -> ProductImport:
    """Plan ``sheet`` now and store the preview as a :class:`ProductImport` (status
    ``previewed``): the command line's way. Flushes; the caller commits. Nothing in the
    catalog changes.

    Args:
        sheet: from :func:`shop.catalog.sheets.reading.read_sheet`.
        filename: shown on the page.
        actor_id: the staff member importing (None for the command line).
        currency: the shop currency (prices in the sheet are in its human units).
    """
    record = ProductImport(actor_id=actor_id, filename=filename[:255], **planned_values(sheet, currency))
    db.session.add(record)
    db.session.flush()
    return record
