"""Admin pages for products as spreadsheets: export (CSV or XLSX, all or the filtered list),
upload an edited sheet, its preview, confirmation, progress and result.

Thin views over :mod:`shop.catalog.sheets`. Nothing is written until the preview is
confirmed; planning the preview and applying it run as background jobs whose progress the page polls
(``/admin/products/imports/<id>/progress``, read by ``static/js/import_progress.js``; without
JavaScript the page offers a refresh link).
"""

from __future__ import annotations

import tempfile

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import SubmitField

from shop.admin import bp
from shop.auth.guards import staff_required
from shop.catalog.models import PRODUCT_STATUSES, ProductImport
from shop.catalog.sheets import apply, planning
from shop.catalog.sheets.columns import category_paths
from shop.catalog.sheets.export import export_query, iter_csv, write_xlsx
from shop.catalog.sheets.reading import SheetError
from shop.dbtypes import utcnow
from shop.exceptions import Conflict, NotFound
from shop.extensions import db
from shop.transaction import unit_of_work

#: Largest upload accepted (the app's MAX_CONTENT_LENGTH is for ordinary forms).
IMPORT_MAX_BYTES = 64 * 1024 * 1024
#: Plan entries the preview page lists (all are counted and applied).
SHOWN = 200
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportUploadForm(FlaskForm):
    """The sheet to import: CSV (UTF-8) or XLSX, as exported."""

    file = FileField(
        "Spreadsheet (CSV or XLSX)",
        validators=[FileRequired("Choose a file.")],
        render_kw={
            "accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        },
    )
    submit = SubmitField("Preview")


class ImportConfirmForm(FlaskForm):
    """Confirm a previewed import (CSRF only)."""

    submit = SubmitField("Apply these changes")


def _filters() -> dict[str, str]:
    """The product list's filters from the query string (unknown values ignored)."""
    status = request.args.get("status", "")
    stock = request.args.get("stock", "")
    return {
        "q": request.args.get("q", "")[:200],
        "status": status if status in PRODUCT_STATUSES else "",
        "stock": stock if stock in ("out", "low") else "",
    }


@bp.get("/products/export")
@staff_required
def product_export():
    """Download products as CSV (streamed) or XLSX (``?format=xlsx``); the list's filters
    (``q``, ``status``, ``stock``) narrow it, none exports the whole catalog."""
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        abort(404)
    stmt = export_query(**_filters())
    currency = current_app.config["SHOP_CURRENCY"]
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    if fmt == "xlsx":
        # Written to an anonymous temporary file (gone when closed), then streamed from it.
        out = tempfile.TemporaryFile(suffix=".xlsx")
        write_xlsx(stmt, currency, out)
        out.seek(0)
        return send_file(
            out, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=f"products-{stamp}.xlsx"
        )
    response = Response(stream_with_context(iter_csv(stmt, currency)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="products-{stamp}.csv"'
    return response


@bp.url_value_preprocessor
def _allow_sheet_uploads(endpoint: str | None, _values) -> None:
    """Raise the body limit for the upload only. URL value preprocessors run before every
    ``before_request`` function, and those (the CSRF check, the NUL-byte check) read the
    form: a limit raised in the view itself would come too late."""
    if endpoint == "admin.product_import_upload":
        request.max_content_length = IMPORT_MAX_BYTES


@bp.route("/products/import", methods=["GET", "POST"])
@staff_required
def product_import_upload():
    """Upload an edited sheet (POST) to see its preview; nothing changes before confirming."""
    form = ImportUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            with unit_of_work():
                record = planning.start_preview(upload.read(), upload.filename or "upload", current_user.id)
        except SheetError as exc:
            form.file.errors = [*form.file.errors, str(exc)]
        else:
            return redirect(url_for("admin.product_import_detail", import_id=record.id), 303)
    recent = db.session.scalars(select(ProductImport).order_by(ProductImport.id.desc()).limit(10)).all()
    status = 422 if form.is_submitted() else 200
    return render_template("admin/products/import_upload.html", form=form, recent=recent), status


def _get_import(import_id: int) -> ProductImport:
    """The import or a 404 page."""
    try:
        return apply.get_import(import_id)
    except NotFound:
        abort(404)


@bp.get("/products/imports/<int:import_id>")
@staff_required
def product_import_detail(import_id: int):
    """One import: its preview (with the confirm button), its progress, or its result."""
    record = _get_import(import_id)
    return render_template(
        "admin/products/import_detail.html",
        record=record,
        entries=record.plan[:SHOWN],
        categories=category_paths(),
        form=ImportConfirmForm(),
    )


@bp.post("/products/imports/<int:import_id>/confirm")
@staff_required
def product_import_confirm(import_id: int):
    """Apply a preview as shown, in the background; refused if the catalog changed since."""
    _get_import(import_id)
    back = redirect(url_for("admin.product_import_detail", import_id=import_id), 303)
    if not ImportConfirmForm().validate_on_submit():
        flash("The form has expired; please confirm again.", "danger")
        return back
    try:
        with unit_of_work():
            record = apply.confirm_import(import_id)
    except Conflict as exc:
        flash(exc.detail, "warning")
        return back
    if record.status == "refused":
        flash(
            "Not applied: products in this file changed since the preview. Upload the file again "
            "for a new preview.",
            "warning",
        )
    else:
        flash(f"Import {record.id} confirmed; the changes are being applied.", "success")
    return back


@bp.get("/products/imports/<int:import_id>/progress")
@staff_required
def product_import_progress(import_id: int):
    """``{status, processed, total, finished}`` of an import, for the progress bar;
    ``finished`` is true once no job works on it (the preview is ready, or applying ended)."""
    record = _get_import(import_id)
    return jsonify(
        status=record.status, processed=record.processed, total=record.total, finished=not record.busy
    )
