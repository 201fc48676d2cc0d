"""Staff pages for what an order costs beyond its products: shipping methods, tax rates and
discount codes (list, new, edit, delete behind a confirmation page).

Thin views: each parses a form from ``shop.admin.pricing_forms``, calls one service from
``shop.pricing.services`` or ``shop.pricing.code_services``, commits, and puts the
service's errors back on the form (422 for invalid fields, 409 for a duplicate or a used
code), keeping everything that was typed.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from shop.admin import bp
from shop.admin.pricing_forms import ConfirmDeleteForm, DiscountCodeForm, ShippingMethodForm, TaxRateForm
from shop.auth.guards import staff_required
from shop.dbtypes import utcnow
from shop.exceptions import Conflict, NotFound, ValidationFailed
from shop.extensions import db
from shop.pricing import code_services, services
from shop.transaction import unit_of_work
from shop.webforms import apply_errors

CODES_PER_PAGE = 50
#: Service field name -> form field name, where they differ.
_FORM_FIELDS = {
    "price_cents": "price",
    "free_above_cents": "free_above",
    "rate_bp": "rate",
    "min_subtotal_cents": "min_subtotal",
}


def _found(get: Callable, row_id: int):
    """The row ``get`` finds, or a 404 page."""
    try:
        return get(row_id)
    except NotFound:
        abort(404)


def _save(form, template: str, save: Callable[[], object], context: dict):
    """Validate ``form`` and run ``save`` in one transaction.

    Returns:
        ``(row, None)`` when saved; ``(None, response)`` with the form page again (its
        fields as typed, the errors on them) when the form or the service refused.
    """
    if form.validate_on_submit():
        try:
            with unit_of_work():
                return save(), None
        except (ValidationFailed, Conflict) as exc:
            if apply_errors(form, exc, field_names=_FORM_FIELDS):
                flash(exc.detail, "danger")
            return None, (render_template(template, form=form, **context), exc.status)
    status = 422 if form.is_submitted() else 200
    return None, (render_template(template, form=form, **context), status)


def _delete(form, template: str, delete: Callable[[], None], context: dict):
    """Delete on a confirmed POST; otherwise (or when refused) the confirmation page.

    Returns:
        True when deleted, else the confirmation page response (409 with the reason when
        the service refused).
    """
    if form.validate_on_submit():
        try:
            with unit_of_work():
                delete()
        except Conflict as exc:
            return render_template(template, form=form, refusal=exc.detail, **context), exc.status
        return True
    status = 400 if form.is_submitted() else 200
    return render_template(template, form=form, refusal="", **context), status


# --- shipping methods ---------------------------------------------------------------------


@bp.get("/shipping-methods")
@staff_required
def shipping_method_list():
    """Every shipping method with its countries, price rule and delivery time."""
    return render_template("admin/pricing/shipping_list.html", methods=services.list_shipping_methods())


@bp.route("/shipping-methods/new", methods=["GET", "POST"])
@staff_required
def shipping_method_create():
    """Create a shipping method."""
    form = ShippingMethodForm()
    method, page = _save(
        form,
        "admin/pricing/shipping_form.html",
        lambda: services.create_shipping_method(form.method_data(), current_user.id),
        {"method": None},
    )
    if page:
        return page
    flash(f"Shipping method {method.name} created.", "success")
    return redirect(url_for("admin.shipping_method_list"), 303)


@bp.route("/shipping-methods/<int:method_id>/edit", methods=["GET", "POST"])
@staff_required
def shipping_method_edit(method_id: int):
    """Edit a shipping method; placed orders keep their copy of its name and price."""
    method = _found(services.get_shipping_method, method_id)
    form = ShippingMethodForm() if request.method == "POST" else ShippingMethodForm.for_method(method)
    saved, page = _save(
        form,
        "admin/pricing/shipping_form.html",
        lambda: services.update_shipping_method(method.id, form.method_data(), current_user.id),
        {"method": method},
    )
    if page:
        return page
    flash(f"Shipping method {saved.name} saved.", "success")
    return redirect(url_for("admin.shipping_method_list"), 303)


@bp.route("/shipping-methods/<int:method_id>/delete", methods=["GET", "POST"])
@staff_required
def shipping_method_delete(method_id: int):
    """Ask (GET), then delete (POST) a shipping method."""
    method = _found(services.get_shipping_method, method_id)
    name = method.name
    done = _delete(
        ConfirmDeleteForm(),
        "admin/pricing/shipping_delete.html",
        lambda: services.delete_shipping_method(method.id, current_user.id),
        {"method": method},
    )
    if done is not True:
        return done
    flash(f"Shipping method {name} deleted.", "success")
    return redirect(url_for("admin.shipping_method_list"), 303)


# --- tax rates ----------------------------------------------------------------------------


@bp.get("/tax-rates")
@staff_required
def tax_rate_list():
    """Every tax rate by country and region."""
    return render_template("admin/pricing/tax_list.html", rates=services.list_tax_rates())


@bp.route("/tax-rates/new", methods=["GET", "POST"])
@staff_required
def tax_rate_create():
    """Create a tax rate (one per country and region)."""
    form = TaxRateForm()
    rate, page = _save(
        form,
        "admin/pricing/tax_form.html",
        lambda: services.create_tax_rate(form.rate_data(), current_user.id),
        {"rate": None},
    )
    if page:
        return page
    flash(f"Tax rate {rate.name} for {rate.country} {rate.region} created.", "success")
    return redirect(url_for("admin.tax_rate_list"), 303)


@bp.route("/tax-rates/<int:rate_id>/edit", methods=["GET", "POST"])
@staff_required
def tax_rate_edit(rate_id: int):
    """Edit a tax rate; placed orders keep the rate they were charged."""
    rate = _found(services.get_tax_rate, rate_id)
    form = TaxRateForm() if request.method == "POST" else TaxRateForm.for_rate(rate)
    saved, page = _save(
        form,
        "admin/pricing/tax_form.html",
        lambda: services.update_tax_rate(rate.id, form.rate_data(), current_user.id),
        {"rate": rate},
    )
    if page:
        return page
    flash(f"Tax rate {saved.name} for {saved.country} {saved.region} saved.", "success")
    return redirect(url_for("admin.tax_rate_list"), 303)


@bp.route("/tax-rates/<int:rate_id>/delete", methods=["GET", "POST"])
@staff_required
def tax_rate_delete(rate_id: int):
    """Ask (GET), then delete (POST) a tax rate."""
    rate = _found(services.get_tax_rate, rate_id)
    what = f"{rate.name} for {rate.country} {rate.region}".rstrip()
    done = _delete(
        ConfirmDeleteForm(),
        "admin/pricing/tax_delete.html",
        lambda: services.delete_tax_rate(rate.id, current_user.id),
        {"rate": rate},
    )
    if done is not True:
        return done
    flash(f"Tax rate {what} deleted.", "success")
    return redirect(url_for("admin.tax_rate_list"), 303)


# --- discount codes -----------------------------------------------------------------------


@bp.get("/discount-codes")
@staff_required
def discount_code_list():
    """Discount codes by code, 50 a page, searchable by part of the code."""
    q = request.args.get("q", "").strip()[:40]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pagination = db.paginate(
        code_services.discount_code_query(q), page=page, per_page=CODES_PER_PAGE, error_out=False, count=True
    )
    return render_template(
        "admin/pricing/code_list.html",
        pagination=pagination,
        codes=pagination.items,
        filters={"q": q} if q else {},
        now=utcnow(),
    )


@bp.route("/discount-codes/new", methods=["GET", "POST"])
@staff_required
def discount_code_create():
    """Create a discount code."""
    form = DiscountCodeForm()
    code, page = _save(
        form,
        "admin/pricing/code_form.html",
        lambda: code_services.create_discount_code(form.code_data(), current_user.id),
        {"code": None},
    )
    if page:
        return page
    flash(f"Discount code {code.code} created.", "success")
    return redirect(url_for("admin.discount_code_list"), 303)


@bp.route("/discount-codes/<int:code_id>/edit", methods=["GET", "POST"])
@staff_required
def discount_code_edit(code_id: int):
    """Edit a discount code (deactivate it here to stop its use)."""
    code = _found(code_services.get_discount_code, code_id)
    form = DiscountCodeForm() if request.method == "POST" else DiscountCodeForm.for_code(code)
    saved, page = _save(
        form,
        "admin/pricing/code_form.html",
        lambda: code_services.update_discount_code(code.id, form.code_data(), current_user.id),
        {"code": code},
    )
    if page:
        return page
    flash(f"Discount code {saved.code} saved.", "success")
    return redirect(url_for("admin.discount_code_list"), 303)


@bp.route("/discount-codes/<int:code_id>/delete", methods=["GET", "POST"])
@staff_required
def discount_code_delete(code_id: int):
    """Ask (GET), then delete (POST) a discount code; a used code is refused (deactivate it)."""
    code = _found(code_services.get_discount_code, code_id)
    text = code.code
    redemptions = code_services.redemption_count(code.id)
    done = _delete(
        ConfirmDeleteForm(),
        "admin/pricing/code_delete.html",
        lambda: code_services.delete_discount_code(code.id, current_user.id),
        {"code": code, "used": max(code.times_used, redemptions)},
    )
    if done is not True:
        return done
    flash(f"Discount code {text} deleted.", "success")
    return redirect(url_for("admin.discount_code_list"), 303)
