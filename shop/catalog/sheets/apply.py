"""Confirming a previewed sheet import, and applying it.

- :func:`confirm_import` refuses (status ``refused``) when a product the plan touches changed
  since the preview (its ``updated_at`` or stock), or a product with a planned new SKU now
  exists; otherwise it queues the import and hands the job over after the commit.
- :func:`run_import` applies the plan in chunks, each committed with the progress
  (``processed``/``total``), so the page can show a progress bar. Each row is applied in a
  savepoint: its fields are one UPDATE guarded by the snapshot the preview took (changed
  since: a conflict, skipped), then its stock goes through the ledger (reason ``import``,
  the staff member as actor) as compare-and-swap against the stock the export showed. The
  values were validated by the preview; new products go through
  :func:`shop.catalog.editing.create_product`.
- Running twice is safe: a run claims the import (``queued`` to ``running``); another run
  finds it claimed and does nothing, unless the claim is stale (a crashed worker), in which
  case it resumes after the rows already committed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from shop.cache_invalidation import mark_catalog_changed
from shop.catalog import editing
from shop.catalog.models import Product, ProductImport
from shop.catalog.sheets.preview import seen_of
from shop.catalog.stock import set_stock
from shop.dbtypes import utcnow
from shop.exceptions import Conflict, NotFound, ShopError
from shop.extensions import db, jobs

APPLY_JOB = "apply_product_import"
CHUNK = 200
#: A ``running`` import whose progress has not moved for this long is taken over by a retry.
STALE_CLAIM = timedelta(minutes=10)
#: Products changed since the preview that a refusal lists by SKU.
MAX_LISTED = 50


def get_import(import_id: int) -> ProductImport:
    """The import, or NotFound."""
    record = db.session.get(ProductImport, import_id)
    if record is None:
        raise NotFound("No such import.")
    return record


def changed_since_preview(plan: list[dict]) -> list[str]:
    """SKUs of the plan whose product changed since the preview (updated, sold, deleted), or
    that a planned creation would now clash with."""
    changed: list[str] = []
    updates = {e["product_id"]: e for e in plan if e["action"] == "update"}
    ids = list(updates)
    for start in range(0, len(ids), 1000):
        part = ids[start : start + 1000]
        now = {
            r.id: seen_of(r.updated_at, r.stock)
            for r in db.session.execute(
                select(Product.id, Product.updated_at, Product.stock).where(Product.id.in_(part))
            )
        }
        changed.extend(updates[i]["sku"] for i in part if now.get(i) != updates[i]["seen"])
    new = [e["sku"] for e in plan if e["action"] == "create"]
    for start in range(0, len(new), 1000):
        changed.extend(
            db.session.scalars(select(Product.sku).where(Product.sku.in_(new[start : start + 1000])))
        )
    return changed


def confirm_import(import_id: int, hand_over: bool = True) -> ProductImport:
    """Confirm a preview: queue it (the job is handed over after the caller's commit), or
    refuse it when the catalog changed since the preview.

    Args:
        hand_over: False when the caller runs :func:`run_import` itself (the command).

    Returns:
        The import, status ``queued`` or ``refused`` (``result["changed"]`` lists SKUs).
        Flushes; the caller commits.
    Raises:
        NotFound: no such import.
        Conflict: it was already confirmed (or refused).
    """
    record = get_import(import_id)
    if record.status != "previewed":
        raise Conflict(f"Import {record.id} was already confirmed ({record.status}).")
    changed = changed_since_preview(record.plan)
    if changed:
        record.status = "refused"
        record.finished_at = utcnow()
        record.result = {"changed": changed[:MAX_LISTED], "changed_count": len(changed)}
        db.session.flush()
        return record
    record.status = "queued"
    record.processed = 0
    record.total = len(record.plan)
    record.result = {"created": 0, "updated": 0, "stock_movements": 0, "conflicts": []}
    db.session.flush()
    if hand_over:
        jobs.enqueue_after_commit(db.session, APPLY_JOB, record.id)
    return record


def _claim(import_id: int) -> bool:
    """Take the import for this run: queued, or running with a stale claim. Commits."""
    stale = utcnow() - STALE_CLAIM
    result = db.session.execute(
        update(ProductImport)
        .where(
            ProductImport.id == import_id,
            or_(
                ProductImport.status == "queued",
                (ProductImport.status == "running") & (ProductImport.updated_at < stale),
            ),
        )
        .values(status="running", updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def run_import(import_id: int, progress: Callable[[int, int], None] | None = None) -> str:
    """Apply a confirmed import; the unit of work of the job and the command (commits after
    every :data:`CHUNK` rows, with the progress).

    Args:
        progress: called as ``progress(processed, total)`` after each chunk.
    Returns:
        The import's status afterwards (``applied``), or ``"skipped"`` when another run holds
        it or it is not queued.
    """
    if not _claim(import_id):
        return "skipped"
    record = get_import(import_id)
    plan, total = record.plan, len(record.plan)
    result = dict(record.result or {})
    result.setdefault("conflicts", [])
    try:
        for start in range(record.processed, total, CHUNK):
            record.updated_at = utcnow()
            db.session.flush()  # written first, so each row's savepoint nests in a write
            for entry in plan[start : start + CHUNK]:
                _apply_entry(entry, record.actor_id, record.id, result)
            record.processed = min(start + CHUNK, total)
            record.result = dict(result)
            db.session.commit()
            if progress:
                progress(record.processed, total)
    except Exception as exc:
        db.session.rollback()
        record = get_import(import_id)
        record.status = "failed"
        record.finished_at = utcnow()
        record.result = {**(record.result or {}), "error": f"{exc.__class__.__name__}: {exc}"[:500]}
        db.session.commit()
        raise
    record.status = "applied"
    record.finished_at = utcnow()
    record.processed = total
    db.session.commit()
    return record.status


def _apply_entry(entry: dict, actor_id: int | None, import_id: int, result: dict) -> None:
    """Apply one plan entry in a savepoint; a conflict or refusal is added to
    ``result["conflicts"]`` and undoes only this row."""
    note = f"spreadsheet import {import_id}, line {entry['line']}"
    try:
        with db.session.begin_nested():
            if entry["action"] == "create":
                moved = _create(entry, actor_id, note)
                result["created"] = result.get("created", 0) + 1
            else:
                moved = _update(entry, actor_id, note)
                result["updated"] = result.get("updated", 0) + 1
            result["stock_movements"] = result.get("stock_movements", 0) + moved
    except ShopError as exc:
        result["conflicts"].append({"line": entry["line"], "sku": entry["sku"], "reason": exc.detail})


def _create(entry: dict, actor_id: int | None, note: str) -> int:
    """Create the product; its stock is one ledger row (reason ``import``)."""
    product = editing.create_product({**entry["changes"], "sku": entry["sku"], "stock": 0}, actor_id)
    if entry.get("stock"):
        set_stock(product.id, entry["stock"], 0, actor_id, reason="import", note=note)
        return 1
    return 0


def _update(entry: dict, actor_id: int | None, note: str) -> int:
    """Update the product if it is still as the preview saw it.

    The fields are one compare-and-swap UPDATE on the snapshot (``updated_at`` and stock);
    the stock then goes through the ledger, compare-and-swap against the exported figure.
    Raises:
        Conflict / StaleWrite: the product changed since the preview.
    """
    seen_at, seen_stock = entry["seen"]
    if entry["changes"]:
        result = db.session.execute(
            update(Product)
            .where(
                Product.id == entry["product_id"],
                Product.stock == seen_stock,
                Product.updated_at == datetime.fromisoformat(seen_at),
            )
            .values(**entry["changes"], updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise Conflict(f"{entry['sku']} changed since the preview; row not applied.")
        mark_catalog_changed(db.session)
    if entry.get("stock") is None:
        return 0
    delta = set_stock(
        entry["product_id"], entry["stock"], entry["expected_stock"], actor_id, reason="import", note=note
    )
    return int(delta != 0)
