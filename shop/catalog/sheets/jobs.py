"""The background jobs of product sheet imports: planning an upload's preview, and
applying a confirmed import."""

from __future__ import annotations

from flask import current_app

from shop.catalog.sheets.apply import APPLY_JOB, run_import
from shop.catalog.sheets.planning import PLAN_JOB, run_preview
from shop.extensions import jobs


@jobs.task(name=PLAN_JOB)
def plan_product_import(import_id: int) -> str:
    """Plan the preview of upload ``import_id`` (see
    :func:`shop.catalog.sheets.preview.run_preview`); safe to run twice. Returns the import's
    status, or ``"skipped"``."""
    return run_preview(import_id, current_app.config["SHOP_CURRENCY"])


@jobs.task(name=APPLY_JOB)
def apply_product_import(import_id: int) -> str:
    """Apply import ``import_id`` (see :func:`shop.catalog.sheets.apply.run_import`); safe to
    run twice. Returns the import's status, or ``"skipped"``."""
    return run_import(import_id)
