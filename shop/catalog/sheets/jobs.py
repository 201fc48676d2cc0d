"""The background job applying a confirmed product sheet import."""

from __future__ import annotations

from shop.catalog.sheets.apply import APPLY_JOB, run_import
from shop.extensions import jobs


@jobs.task(name=APPLY_JOB)
def apply_product_import(import_id: int) -> str:
    """Apply import ``import_id`` (see :func:`shop.catalog.sheets.apply.run_import`); safe to
    run twice. Returns the import's status, or ``"skipped"``."""
    return run_import(import_id)
