"""Staff page for background jobs: outbox messages that failed or wait to be sent, with
their last error and a Retry button (``/admin/jobs``)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from shop.admin import bp
from shop.admin.forms import RetryJobForm
from shop.auth.guards import staff_required
from shop.exceptions import NotFound, ShopError
from shop.extensions import db
from shop.jobs import outbox
from shop.jobs.models import OUTBOX_STATUSES
from shop.transaction import unit_of_work

PER_PAGE = 50


def _status_arg() -> str:
    """The status filter from the query string ("" for the rows needing attention)."""
    status = request.args.get("status", "")
    return status if status in OUTBOX_STATUSES else ""


@bp.get("/jobs")
@staff_required
def job_list():
    """Outbox messages, newest first: by default those failed, waiting or being sent."""
    status = _status_arg()
    page = max(request.args.get("page", 1, type=int), 1)
    pagination = db.paginate(
        outbox.staff_messages(status or None), page=page, per_page=PER_PAGE, error_out=False
    )
    return render_template(
        "admin/jobs.html",
        pagination=pagination,
        status=status,
        statuses=OUTBOX_STATUSES,
        counts=outbox.status_counts(),
        form=RetryJobForm(),
    )


@bp.post("/jobs/<int:message_id>/retry")
@staff_required
def job_retry(message_id: int):
    """Send a failed (or waiting) message again now; a sent one is never sent twice."""
    back = redirect(url_for("admin.job_list", status=_status_arg() or None), 303)
    form = RetryJobForm()
    if not form.validate_on_submit():
        flash("The form has expired; please try again.", "danger")
        return back
    try:
        with unit_of_work():
            outbox.retry_message(message_id)
    except NotFound:
        abort(404)
    except ShopError as exc:
        flash(exc.detail, "warning")
        return back
    flash(f"Message {message_id} will be sent again.", "success")
    return back
