"""Catalog import: ``products.csv(.gz)`` (+ optional JSONL attributes) into the database.

Rules:
- Idempotent: ``sku`` is the source ``product_id``; a second run updates the products it
  finds (title, model, brand, price, description, type, EAN, image, release date, category,
  and attributes when JSONL is given) and never duplicates them.
- Set only when a product is first created, never on re-import: ``slug`` (python-slugify of
  the title, ``-<sku>`` appended when taken; stable afterwards), ``status`` active, and the
  demo ``stock`` (:func:`shop.catalog.sourcedata.demo_stock`), recorded in the stock ledger
  with reason ``"import"`` so that stock == sum(ledger) holds. Sales and staff edits of
  stock are therefore never overwritten.
- Staff edits survive a re-import: each product records what the last import set
  (``Product.imported_values``: name, price, category, status). A protected field whose
  value differs from that record was changed by staff; the import keeps it and lists it in
  ``ImportReport.staff_edits``, unless ``overwrite_staff_edits`` is given. A product without
  a record (imported before it existed) has no protected edits; the import records one.
- Each product gets one leaf of the category tree from ``shop/catalog/data/categories.json``
  (:mod:`shop.catalog.categorize`); the tree itself is created or updated from that file.
- Attributes come from a product's JSONL record when the files have one; a known product
  without a record (none given, or its line was bad) keeps the attributes it has.
- Every bad input is reported as a :class:`~shop.catalog.sourcefiles.Problem` with its file,
  line and column: a bad CSV row (unparseable, wrong number of fields, no id, no or an
  over-long title, bad price, duplicate id) or JSONL line (not a JSON object with an id) is
  skipped and every other one imported; unknown CSV columns are reported once and ignored.
  A file that cannot be read as a whole (truncated or damaged gzip, not UTF-8, missing
  columns) raises :class:`~shop.catalog.sourcefiles.SourceFileError` before anything is
  written.
- Fast: rows are written with chunked bulk INSERT/UPDATE statements, not one ORM object per
  row. The function flushes; the caller commits (or rolls back).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from slugify import slugify
from sqlalchemy import insert, select, update

from shop import audit
from shop.cache_invalidation import mark_catalog_changed
from shop.catalog.categorize import Categorizer, load_categorizer
from shop.catalog.models import Category, Product, StockMovement
from shop.catalog.sourcedata import SourceRow, demo_stock, read_attributes, read_rows
from shop.catalog.sourcefiles import Problem
from shop.dbtypes import utcnow
from shop.extensions import db

CHUNK = 1000
SLUG_MAX = 100
#: Columns an import may change on a known product (never stock, status or slug).
_COMPARED = (
    "name",
    "model",
    "brand",
    "category_id",
    "description",
    "product_type",
    "ean",
    "price_cents",
    "image_url",
    "released_at",
    "attributes",
)


#: Fields staff may change that a re-import keeps (the source's status is always active).
PROTECTED = ("name", "price_cents", "category_id", "status")


@dataclass(frozen=True)
class StaffEdit:
    """A field staff changed since the last import, which this import kept (or overwrote):
    ``kept`` is the staff value, ``source`` the import's."""

    sku: str
    field: str
    kept: object
    source: object
    overwritten: bool = False

    def __str__(self) -> str:
        action = "overwritten with" if self.overwritten else "kept; the import has"
        return f"product {self.sku}: {self.field} {self.kept!r} changed by staff, {action} {self.source!r}"


@dataclass
class ImportReport:
    """What an import did.

    Attributes:
        rows: data rows read (valid and bad).
        created, updated, unchanged: products inserted / updated / already up to date.
        errors: a :class:`Problem` for each skipped CSV row.
        attribute_errors: a :class:`Problem` for each skipped JSONL line.
        warnings: a :class:`Problem` for input that was ignored (unknown CSV columns).
        categories: ``{leaf slug: products}`` for the imported rows.
        fallback: slug of the catch-all category ("other").
        staff_edits: a :class:`StaffEdit` for each protected field staff changed since the
            last import and the source would change.
        seconds: wall time.
    """

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[Problem] = field(default_factory=list)
    attribute_errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    categories: Counter = field(default_factory=Counter)
    fallback: str = "other"
    staff_edits: list[StaffEdit] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def imported(self) -> int:
        """Products in the import (created + updated + unchanged)."""
        return self.created + self.updated + self.unchanged

    @property
    def coverage(self) -> float:
        """Share of imported products outside the catch-all category (0..1)."""
        if not self.imported:
            return 0.0
        return 1 - self.categories.get(self.fallback, 0) / self.imported


def sync_category_tree(categorizer: Categorizer) -> dict[str, int]:
    """Create or update the categories of the rules file; return ``{slug: id}``.

    Existing categories (matched by slug) keep their id; names, parents and positions
    follow the file. Categories not in the file are left alone.
    """
    existing = {c.slug: c for c in db.session.scalars(select(Category))}
    for position, top in enumerate(categorizer.tree):
        parent = existing.get(top["slug"])
        if parent is None:
            parent = Category(slug=top["slug"], name=top["name"])
            db.session.add(parent)
            existing[top["slug"]] = parent
        parent.name, parent.parent, parent.position = top["name"], None, position
        for child_position, leaf in enumerate(top.get("children") or []):
            child = existing.get(leaf["slug"])
            if child is None:
                child = Category(slug=leaf["slug"], name=leaf["name"])
                db.session.add(child)
                existing[leaf["slug"]] = child
            child.name, child.parent, child.position = leaf["name"], parent, child_position
    db.session.flush()
    return {slug: c.id for slug, c in existing.items()}


def _new_slug(title: str, sku: str, taken: set[str]) -> str:
    """A slug for a new product that is not in ``taken`` (and add it there)."""
    base = (
        slugify(
            title, max_length=SLUG_MAX, word_boundary=True, replacements=[["®", ""], ["™", ""], ["©", ""]]
        )
        or "product"
    )
    for candidate in (base, f"{base}-{slugify(sku)}"):
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    n = 2
    while f"{base}-{slugify(sku)}-{n}" in taken:  # pragma: no cover - needs a duplicate sku
        n += 1
    taken.add(f"{base}-{slugify(sku)}-{n}")
    return f"{base}-{slugify(sku)}-{n}"


def _chunks(items: list, size: int = CHUNK):
    """Consecutive slices of ``items`` of at most ``size`` elements."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def import_catalog(
    csv_path: str | Path,
    jsonl_paths=(),
    progress: Callable[[int, int], None] | None = None,
    rules_path: str | Path | None = None,
    overwrite_staff_edits: bool = False,
) -> ImportReport:
    """Import or update the catalog from a products CSV (optionally gzipped).

    Args:
        csv_path: ``products.csv`` or ``products.csv.gz`` (columns in
            :data:`shop.catalog.sourcedata.CSV_COLUMNS`).
        jsonl_paths: JSONL(.gz) files with the full records; their ``attr_*`` fields become
            ``Product.attributes`` (readable names) and help the category rules.
        progress: called as ``progress(done, total)`` while rows are written.
        rules_path: another category rules file (tests); default the shipped one.
        overwrite_staff_edits: set protected fields (:data:`PROTECTED`) from the source even
            where staff changed them since the last import (they are still reported).
    Returns:
        An :class:`ImportReport`. Nothing is committed.
    Raises:
        SourceFileError: a file cannot be imported at all (missing columns, truncated or
            damaged gzip, not UTF-8); nothing has been written then.
        ValueError: the rules file is inconsistent.
    """
    started = time.perf_counter()
    categorizer = load_categorizer(str(rules_path)) if rules_path else load_categorizer()
    report = ImportReport(fallback=categorizer.fallback)
    category_ids = sync_category_tree(categorizer)
    attributes, report.attribute_errors = read_attributes(jsonl_paths)
    rows = _unique_rows(csv_path, report)
    inserts, updates = _plan(
        rows, categorizer, category_ids, attributes, report, progress, overwrite_staff_edits
    )
    _write(inserts, updates)
    report.created, report.updated = len(inserts), len(updates)
    mark_catalog_changed(db.session)
    report.seconds = time.perf_counter() - started
    audit.record(
        "import.run",
        "catalog",
        None,
        Path(csv_path).name,
        {k: [None, getattr(report, k)] for k in ("rows", "created", "updated", "unchanged")},
        None,
        f"skipped rows: {len(report.errors)}",
    )
    return report


def _unique_rows(csv_path: str | Path, report: ImportReport) -> list[SourceRow]:
    """The CSV's valid rows, each product id once; bad and repeated rows go to ``report.errors``,
    ignored columns to ``report.warnings``."""
    rows: list[SourceRow] = []
    seen: dict[str, int] = {}
    for item in read_rows(csv_path):
        if isinstance(item, Problem) and item.warning:
            report.warnings.append(item)
            continue
        report.rows += 1
        if isinstance(item, Problem):
            report.errors.append(item)
        elif item.sku in seen:
            report.errors.append(
                Problem(
                    str(csv_path),
                    item.line,
                    "product_id",
                    f"product {item.sku}: duplicate product_id (first on line {seen[item.sku]}); row skipped",
                )
            )
        else:
            seen[item.sku] = item.line
            rows.append(item)
    return rows


def _plan(
    rows: list[SourceRow],
    categorizer: Categorizer,
    category_ids: dict[str, int],
    attributes: dict[str, dict[str, str]],
    report: ImportReport,
    progress: Callable[[int, int], None] | None,
    overwrite_staff_edits: bool = False,
) -> tuple[list[dict], list[dict]]:
    """Column values of the products to insert and of the known ones that changed.

    Counts categories and unchanged products in ``report``; calls ``progress`` every
    :data:`CHUNK` rows and at the end.
    """
    # Known products: their current values, so unchanged rows are not rewritten (a
    # re-import then costs little, and the search index is only refreshed for real changes).
    known_columns = _COMPARED + ("id", "sku", "status", "imported_values")
    existing = {r.sku: r for r in db.session.execute(select(Product.__table__.c[known_columns]))}
    taken_slugs = set(db.session.scalars(select(Product.slug)))
    now = utcnow()
    inserts: list[dict] = []
    updates: list[dict] = []
    total = len(rows)
    for done, row in enumerate(rows, 1):
        known = existing.get(row.sku)
        attrs = _row_attributes(row.sku, attributes, known)
        leaf = categorizer.leaf_for(row.title, row.product_type, row.description, attrs, row.brand)
        report.categories[leaf] += 1
        values = _values(row, category_ids[leaf], attrs)
        if known is None:
            values.update(
                sku=row.sku,
                slug=_new_slug(row.title, row.sku, taken_slugs),
                status="active",
                stock=demo_stock(row.sku),
                created_at=now,
                updated_at=now,
            )
            values["imported_values"] = _imported(values)
            inserts.append(values)
        elif _settle_staff_edits(known, values, row.sku, report, overwrite_staff_edits) or any(
            getattr(known, key) != values[key] for key in _COMPARED
        ):
            values.update(id=known.id, updated_at=now)
            updates.append(values)
        else:
            report.unchanged += 1
        if progress is not None and (done % CHUNK == 0 or done == total):
            progress(done, total)
    return inserts, updates


def _imported(values: dict) -> dict:
    """What an import sets of the protected fields, as recorded on the product."""
    return {key: values[key] for key in PROTECTED}


def _settle_staff_edits(known, values: dict, sku: str, report: ImportReport, overwrite: bool) -> bool:
    """Keep (or with ``overwrite``, replace) protected fields staff changed since the last
    import; record what this import sets in ``values["imported_values"]``.

    Staff changed a field when its value differs from what the last import set. Only edits
    the source would change are reported (a source agreeing with staff is no conflict).
    Returns:
        True when the product needs writing for the protected fields or the record alone
        (the other columns are compared by the caller).
    """
    values["status"] = "active"
    source = _imported(values)
    last = known.imported_values if isinstance(known.imported_values, dict) else None
    for key in PROTECTED:
        current = getattr(known, key)
        staff_changed = last is not None and key in last and current != last[key]
        if current == source[key]:
            continue
        if staff_changed:
            report.staff_edits.append(StaffEdit(sku, key, current, source[key], overwritten=overwrite))
            if not overwrite:
                values[key] = current
        elif key == "status":
            # Before a record existed, status was the staff's alone (set once, on creation).
            values[key] = current
    values["imported_values"] = source
    return source != last or values["status"] != known.status


def _row_attributes(sku: str, attributes: dict[str, dict[str, str]], known) -> dict | None:
    """The attributes a row is stored and categorized with: its JSONL record's when there is
    one; otherwise a known product keeps its stored attributes (so a bad or missing JSONL
    line never wipes them)."""
    if sku in attributes:
        return attributes[sku]
    if known is not None and isinstance(known.attributes, dict):
        return known.attributes
    return None


def _values(row: SourceRow, category_id: int, attrs: dict | None) -> dict:
    """The columns an import sets on every product it reads (:data:`_COMPARED`)."""
    return {
        "name": row.title,
        "model": row.model,
        "brand": row.brand,
        "category_id": category_id,
        "description": row.description,
        "product_type": row.product_type,
        "ean": row.ean,
        "price_cents": row.price_cents,
        "image_url": row.image_url,
        "released_at": row.released_at,
        "attributes": attrs or {},
    }


def _write(inserts: list[dict], updates: list[dict]) -> None:
    """Bulk-insert new products (+ their ledger rows) and bulk-update known ones."""
    table = Product.__table__
    stock = {row["sku"]: row["stock"] for row in inserts}
    ledger = []
    for chunk in _chunks(inserts):
        # With RETURNING, SQLAlchemy sends multi-row INSERTs ("insertmanyvalues"), so
        # statement-level triggers (the search index) run once per batch, not per row.
        returned = db.session.execute(insert(table).returning(table.c.id, table.c.sku), chunk)
        ledger.extend(
            {"product_id": pid, "delta": stock[sku], "reason": "import", "note": "initial demo stock"}
            for pid, sku in returned
            if stock[sku]
        )
    if ledger:
        for chunk in _chunks(ledger):
            db.session.execute(insert(StockMovement.__table__), chunk)
    for chunk in _chunks(updates):
        # ORM bulk UPDATE by primary key: one executemany per chunk.
        db.session.execute(update(Product), chunk)
    db.session.flush()
