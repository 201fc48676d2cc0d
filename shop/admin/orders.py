"""Staff pages for orders: a filtered, paginated list; one order with its events; and a
status change form whose every move goes through ``shop.orders.services.transition_order``
(an invalid move is refused there and shown as a clear message here)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from shop.admin import bp
from shop.auth.guards import staff_required
from shop.exceptions import NotFound, ShopError
from shop.extensions import db
from shop.orders import services
from shop.orders.forms import OrderStatusForm
from shop.orders.models import ORDER_STATUSES
from shop.payments import providers as payments
from shop.transaction import unit_of_work

PER_PAGE = 50


def _order_or_404(number: str):
    """The order with this number, or a 404 page."""
    try:
        return services.get_order_by_number(number)
    except NotFound:
        abort(404)


def _status_form(order) -> OrderStatusForm:
    """The status form offering only the moves the lifecycle allows from here."""
    form = OrderStatusForm()
    allowed = services.allowed_transitions(order.status)
    form.to_status.choices = [SelectChoice(s, services.status_label(s)) for s in allowed]
    return form


@bp.get("/orders")
@staff_required
def order_list():
    """All orders, newest first; filter by status and by number or e-mail."""
    status = request.args.get("status", "")
    if status not in ORDER_STATUSES:
        status = ""
    q = request.args.get("q", "").strip()[:100]
    page = max(request.args.get("page", 1, type=int), 1)
    pagination = db.paginate(
        services.staff_orders(status or None, q), page=page, per_page=PER_PAGE, error_out=False
    )
    filters = {k: v for k, v in (("status", status), ("q", q)) if v}
    return render_template(
        "admin/orders/list.html",
        pagination=pagination,
        filters=filters,
        statuses=ORDER_STATUSES,
        status_label=services.status_label,
        status_colours=services.STATUS_COLOURS,
    )


@bp.get("/orders/<number>")
@staff_required
def order_detail(number: str):
    """One order: lines, address, payment, every event (who, when, note) and the status form."""
    order = _order_or_404(number)
    return render_template(
        "admin/orders/detail.html",
        order=order,
        form=_status_form(order),
        provider_label=payments.provider_label(order.payment_provider),
        status_label=services.status_label,
        status_colours=services.STATUS_COLOURS,
    )


@bp.post("/orders/<number>/status")
@staff_required
def order_status(number: str):
    """Move the order to the chosen status with an optional note."""
    order = _order_or_404(number)
    form = OrderStatusForm()
    # Accept any status here: the service is the one place that decides what is allowed.
    form.to_status.choices = [SelectChoice(s, services.status_label(s)) for s in ORDER_STATUSES]
    if not form.validate_on_submit():
        flash("Choose the new status.", "danger")
        return redirect(url_for("admin.order_detail", number=number), 303)
    try:
        with unit_of_work():
            services.transition_order(order.id, form.to_status.data, current_user.id, form.note.data or "")
    except ShopError as exc:
        flash(exc.detail, "danger")
        return redirect(url_for("admin.order_detail", number=number), 303)
    flash(f"Order {number} is now {services.status_label(form.to_status.data).lower()}.", "success")
    return redirect(url_for("admin.order_detail", number=number), 303)
