"""Staff pages for orders: a filtered, paginated list; one order with its events, payments
and refunds; a status change form whose every move goes through
``shop.orders.services.transition_order`` (an invalid move is refused there and shown as a
clear message here; marking it shipped needs the carrier and tracking number); a printable
packing slip; and a refund form with a confirmation step, whose refund is made by
``shop.payments.refunds`` (409 and 502 shown on the form, with everything typed kept)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from shop.admin import bp
from shop.admin.refund_forms import refund_form
from shop.auth.guards import staff_required
from shop.exceptions import Conflict, NotFound, ShopError, ValidationFailed
from shop.extensions import db
from shop.orders import services
from shop.orders.forms import OrderStatusForm
from shop.orders.models import ORDER_STATUSES
from shop.payments import providers as payments
from shop.payments import refunds
from shop.payments.stripe_gateway import GatewayError
from shop.transaction import unit_of_work
from shop.webforms import apply_errors

PER_PAGE = 50


def _order_or_404(number: str):
    """The order with this number, or a 404 page."""
    try:
        return services.get_order_by_number(number)
    except NotFound:
        abort(404)


class ShipmentStatusForm(OrderStatusForm):
    """The status form with the parcel's carrier and tracking number (required by the
    service when the new status is shipped; blank and ignored otherwise)."""

    carrier = StringField(
        "Carrier",
        validators=[Optional(), Length(max=services.CARRIER_MAX_LENGTH)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    tracking_number = StringField(
        "Tracking number",
        validators=[Optional(), Length(max=services.TRACKING_MAX_LENGTH)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )


def _status_form(order) -> ShipmentStatusForm:
    """The status form offering only the moves the lifecycle allows from here."""
    form = ShipmentStatusForm()
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


def _refund_form(order, **kwargs):
    """The order's refund form and its figures (``refunds.refundable``)."""
    figures = refunds.refundable(order)
    left = {ln["line_id"]: ln["left_quantity"] for ln in figures["lines"]}
    return refund_form(order, left, **kwargs), figures


def _detail(order, form=None, figures=None, status: int = 200, status_form=None):
    """The order page; ``form`` is a refund form and ``status_form`` a status form to show as
    they were sent (with their errors)."""
    if form is None:
        form, figures = _refund_form(order, formdata=None)
    return render_template(
        "admin/orders/detail.html",
        order=order,
        form=status_form or _status_form(order),
        refund_form=form,
        figures=figures,
        can_refund=order.status in refunds.REFUNDABLE_STATUSES and figures["left_cents"] > 0,
        payments=refunds.order_payments(order.id),
        order_refunds=refunds.order_refunds(order.id),
        describe_refund=refunds.describe_refund,
        provider_label=payments.provider_label(order.payment_provider),
        label_of_provider=payments.provider_label,
        status_label=services.status_label,
        status_colours=services.STATUS_COLOURS,
    ), status


@bp.get("/orders/<number>")
@staff_required
def order_detail(number: str):
    """One order: lines, address, payments, refunds, every event (who, when, note), the
    status form and the refund form."""
    return _detail(_order_or_404(number))


@bp.post("/orders/<number>/status")
@staff_required
def order_status(number: str):
    """Move the order to the chosen status with an optional note."""
    order = _order_or_404(number)
    form = ShipmentStatusForm()
    # Accept any status here: the service is the one place that decides what is allowed.
    form.to_status.choices = [SelectChoice(s, services.status_label(s)) for s in ORDER_STATUSES]
    if not form.validate_on_submit():
        flash("Choose the new status.", "danger")
        return redirect(url_for("admin.order_detail", number=number), 303)
    shipment = services.Shipment(form.carrier.data or "", form.tracking_number.data or "")
    try:
        with unit_of_work():
            services.transition_order(
                order.id, form.to_status.data, current_user.id, form.note.data or "", shipment=shipment
            )
    except ValidationFailed as exc:
        return _status_refused(services.get_order(order.id), form, exc.detail, exc.errors)
    except ShopError as exc:
        flash(exc.detail, "danger")
        return redirect(url_for("admin.order_detail", number=number), 303)
    flash(f"Order {number} is now {services.status_label(form.to_status.data).lower()}.", "success")
    return redirect(url_for("admin.order_detail", number=number), 303)


def _status_refused(order, form: ShipmentStatusForm, message: str, errors: dict | None = None):
    """The order page again (422) with the status form as typed and its errors."""
    shown = _status_form(order)
    for name in ("to_status", "note", "carrier", "tracking_number"):
        shown[name].data = form[name].data
        shown[name].errors = list(form[name].errors or []) + list((errors or {}).get(name, []))
    flash(message, "danger")
    page, _status = _detail(order, status_form=shown)
    return page, 422


@bp.get("/orders/<number>/packing-slip")
@staff_required
def order_packing_slip(number: str):
    """A printable packing slip: order number, ship-to address, lines with SKUs and
    quantities; no prices (it travels in the parcel)."""
    order = _order_or_404(number)
    return render_template(
        "admin/orders/packing_slip.html",
        order=order,
        units=sum(line.quantity for line in order.lines),
        status_label=services.status_label,
    )


@bp.post("/orders/<number>/refund")
@staff_required
def order_refund(number: str):
    """Refund in two steps: the form is checked and its amount shown for confirmation
    (``step`` absent); ``step=confirm`` makes the refund (a card refund then goes to
    Stripe); ``step=edit`` goes back to the order page with the form as typed."""
    order = _order_or_404(number)
    form, figures = _refund_form(order)
    step = request.form.get("step", "")
    if not form.validate_on_submit():
        return _detail(order, form, figures, 422)
    if step == "edit":
        return _detail(order, form, figures)
    lines, extra = form.line_quantities(), form.extra_cents
    try:
        plan = refunds.preview_refund(order.id, lines, extra)
        if step != "confirm":
            return render_template(
                "admin/orders/refund_confirm.html",
                order=order,
                refund_form=form,
                plan=plan,
                card=order.payment_provider == "card",
                figures=figures,
            )
        with unit_of_work():
            refund = refunds.refund_order(
                order.id,
                lines=lines,
                extra_cents=extra,
                restock=form.restock.data,
                actor_id=current_user.id,
                reason=form.reason.data or "",
            )
            refund_id, to_stripe = refund.id, refund.status == "pending"
    except (ValidationFailed, Conflict) as exc:
        if apply_errors(form, exc, field_names=form.field_names()):
            form.form_errors.append(exc.detail)
        order = services.get_order(order.id)
        return _detail(order, form, refunds.refundable(order), exc.status)
    if to_stripe:
        try:
            refunds.submit_refund(refund_id)
        except GatewayError as exc:
            form.form_errors.append(
                f"{exc.detail} Refund #{refund_id} is recorded as failed: nothing was refunded, "
                "and you can try again."
            )
            order = services.get_order(order.id)
            return _detail(order, form, refunds.refundable(order), exc.status)
    refund = refunds.get_refund(refund_id)
    if not to_stripe:
        outcome = "Recorded as refunded."
    elif refund.status == "succeeded":
        outcome = "Stripe refunded it."
    else:
        outcome = "Sent to Stripe; pending until Stripe confirms it."
    flash(f"{refunds.describe_refund(refund)} {outcome}", "success")
    return redirect(url_for("admin.order_detail", number=number, _anchor="refunds"), 303)
