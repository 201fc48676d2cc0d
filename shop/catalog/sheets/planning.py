"""Planning an uploaded sheet's preview in the background: the upload is stored
(:class:`ProductImportUpload`) and a job plans it (:func:`.preview.plan_sheet`), with the
rows read as its progress, so that a file of 200,000 rows is read outside the request."""

from __future__ import annotations

from sqlalchemy import delete, update

from shop.catalog.models import ProductImport, ProductImportUpload
from shop.catalog.sheets.preview import planned_values
from shop.catalog.sheets.reading import SheetError, estimate_rows, read_sheet
from shop.dbtypes import utcnow
from shop.extensions import db, jobs

#: The background job planning an uploaded sheet's preview.
PLAN_JOB = "plan_product_import"


def start_preview(data: bytes, filename: str, actor_id: int | None) -> ProductImport:
    """Store an upload to be planned by the background job :data:`PLAN_JOB` (handed over
    after the caller's commit): the admin page's way, so that a file of 200,000 rows is
    read outside the request. The import's status is ``planning`` and its progress counts
    the rows read (``total`` is an estimate: :func:`~shop.catalog.sheets.reading.estimate_rows`).

    Raises:
        SheetError: the file cannot be read at all (empty, not a workbook, no ``sku``
            column): said at once, nothing stored.
    """
    read_sheet(data, filename)  # the header: a file that cannot be a sheet is refused now
    record = ProductImport(
        actor_id=actor_id,
        filename=filename[:255],
        status="planning",
        plan=[],
        problems=[],
        warnings=[],
        counts={},
        fingerprint="",
        result={},
        processed=0,
        total=estimate_rows(data, filename),
    )
    db.session.add(record)
    db.session.flush()
    db.session.add(ProductImportUpload(import_id=record.id, data=data))
    db.session.flush()
    jobs.enqueue_after_commit(db.session, PLAN_JOB, record.id)
    return record


def _set_planning(import_id: int, **values) -> bool:
    """Update an import still ``planning``; False when it is not (another run finished it)."""
    result = db.session.execute(
        update(ProductImport)
        .where(ProductImport.id == import_id, ProductImport.status == "planning")
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def run_preview(import_id: int, currency: str) -> str:
    """Plan a stored upload (the job's unit of work): commits the progress every
    :data:`CHUNK` rows, then the preview, and deletes the stored file.

    Planning only reads the catalog, so a second run (a retried job) is harmless: the
    first to finish writes the preview, the other finds the import no longer ``planning``.

    Returns:
        ``previewed``, ``failed`` (the file turned out unreadable further down, e.g. a
        broken CSV quote: the reason is kept in ``result["error"]``), or ``skipped``.
    """
    record = db.session.get(ProductImport, import_id)
    if record is None or record.status != "planning":
        return "skipped"
    upload = db.session.get(ProductImportUpload, import_id)
    data, filename = (upload.data if upload else b""), record.filename
    if upload is not None:
        db.session.expunge(upload)  # the file is not kept in the session while planning
    db.session.commit()

    def progress(rows: int) -> None:
        _set_planning(import_id, processed=rows)
        db.session.commit()

    def finish(**values) -> bool:
        done = _set_planning(import_id, **values)
        if done:
            db.session.execute(delete(ProductImportUpload).where(ProductImportUpload.import_id == import_id))
        db.session.commit()
        return done

    try:
        values = planned_values(read_sheet(data, filename), currency, progress)
    except SheetError as exc:
        db.session.rollback()
        return (
            "failed"
            if finish(status="failed", finished_at=utcnow(), result={"error": str(exc)})
            else "skipped"
        )
    except Exception as exc:
        db.session.rollback()
        finish(
            status="failed", finished_at=utcnow(), result={"error": f"{exc.__class__.__name__}: {exc}"[:500]}
        )
        raise
    return "previewed" if finish(**values) else "skipped"
