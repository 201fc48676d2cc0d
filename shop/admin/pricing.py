"""Staff pages for what an order costs beyond its products: shipping methods, tax rates and
discount codes (list, new, edit, delete behind a confirmation page).

Thin views: each parses a form from ``shop.admin.pricing_forms``, calls one service from
``shop.pricing.services`` or ``shop.pricing.code_services``, commits, and puts the
service's errors back on the form (422 for invalid fields, 409 for a duplicate or a used
code), keeping everything that was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


# --- new, edit and delete: the same three pages for each kind -------------------------------


@dataclass(frozen=True)
class _Kind:
    """One kind of pricing row and its pages: ``/<path>/new``, ``/<path>/<id>/edit`` and
    ``/<path>/<id>/delete`` (the id named ``param``), endpoints ``admin.<endpoint>_create|_edit|_delete``, templates
    ``<templates>_form.html`` and ``<templates>_delete.html`` (the row as ``<context>``)."""

    path: str
    endpoint: str
    param: str
    context: str
    templates: str
    form: type
    form_for: Callable[[Any], Any]
    data: Callable[[Any], dict]
    get: Callable[[int], Any]
    create: Callable[[dict, int], Any]
    update: Callable[[int, dict, int], Any]
    delete: Callable[[int, int], None]
    label: Callable[[Any], str]
    delete_context: Callable[[Any], dict] = lambda row: {}


KINDS = (
    _Kind(
        path="shipping-methods",
        param="method_id",
        endpoint="shipping_method",
        context="method",
        templates="admin/pricing/shipping",
        form=ShippingMethodForm,
        form_for=ShippingMethodForm.for_method,
        data=ShippingMethodForm.method_data,
        get=services.get_shipping_method,
        create=services.create_shipping_method,
        update=services.update_shipping_method,
        delete=services.delete_shipping_method,
        label=lambda m: f"Shipping method {m.name}",
    ),
    _Kind(
        path="tax-rates",
        param="rate_id",
        endpoint="tax_rate",
        context="rate",
        templates="admin/pricing/tax",
        form=TaxRateForm,
        form_for=TaxRateForm.for_rate,
        data=TaxRateForm.rate_data,
        get=services.get_tax_rate,
        create=services.create_tax_rate,
        update=services.update_tax_rate,
        delete=services.delete_tax_rate,
        label=lambda r: f"Tax rate {r.name} for {r.country} {r.region}".rstrip(),
    ),
    _Kind(
        path="discount-codes",
        param="code_id",
        endpoint="discount_code",
        context="code",
        templates="admin/pricing/code",
        form=DiscountCodeForm,
        form_for=DiscountCodeForm.for_code,
        data=DiscountCodeForm.code_data,
        get=code_services.get_discount_code,
        create=code_services.create_discount_code,
        update=code_services.update_discount_code,
        delete=code_services.delete_discount_code,
        label=lambda c: f"Discount code {c.code}",
        # A used code cannot be deleted (deactivate it): the page says how often it was used.
        delete_context=lambda c: {"used": max(c.times_used, code_services.redemption_count(c.id))},
    ),
)


def _back(kind: _Kind, message: str):
    flash(message, "success")
    return redirect(url_for(f"admin.{kind.endpoint}_list"), 303)


def _create_view(kind: _Kind) -> Callable:
    def create():
        """Create a row of this kind."""
        form = kind.form()
        row, page = _save(
            form,
            f"{kind.templates}_form.html",
            lambda: kind.create(kind.data(form), current_user.id),
            {kind.context: None},
        )
        return page or _back(kind, f"{kind.label(row)} created.")

    return create


def _edit_view(kind: _Kind) -> Callable:
    def edit(**ids: int):
        """Edit a row of this kind; placed orders keep their own copy of what they used."""
        row = _found(kind.get, ids[kind.param])
        form = kind.form() if request.method == "POST" else kind.form_for(row)
        saved, page = _save(
            form,
            f"{kind.templates}_form.html",
            lambda: kind.update(row.id, kind.data(form), current_user.id),
            {kind.context: row},
        )
        return page or _back(kind, f"{kind.label(saved)} saved.")

    return edit


def _delete_view(kind: _Kind) -> Callable:
    def delete(**ids: int):
        """Ask (GET), then delete (POST) a row of this kind; a refusal says why (409)."""
        row = _found(kind.get, ids[kind.param])
        what = kind.label(row)
        done = _delete(
            ConfirmDeleteForm(),
            f"{kind.templates}_delete.html",
            lambda: kind.delete(row.id, current_user.id),
            {kind.context: row, **kind.delete_context(row)},
        )
        return done if done is not True else _back(kind, f"{what} deleted.")

    return delete


for _kind in KINDS:
    for _suffix, _rule, _factory in (
        ("create", f"/{_kind.path}/new", _create_view),
        ("edit", f"/{_kind.path}/<int:{_kind.param}>/edit", _edit_view),
        ("delete", f"/{_kind.path}/<int:{_kind.param}>/delete", _delete_view),
    ):
        bp.add_url_rule(
            _rule,
            endpoint=f"{_kind.endpoint}_{_suffix}",
            view_func=staff_required(_factory(_kind)),
            methods=["GET", "POST"],
        )


# --- lists --------------------------------------------------------------------------------


@bp.get("/shipping-methods")
@staff_required
def shipping_method_list():
    """Every shipping method with its countries, price rule and delivery time."""
    return render_template("admin/pricing/shipping_list.html", methods=services.list_shipping_methods())


@bp.get("/tax-rates")
@staff_required
def tax_rate_list():
    """Every tax rate by country and region."""
    return render_template("admin/pricing/tax_list.html", rates=services.list_tax_rates())


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
