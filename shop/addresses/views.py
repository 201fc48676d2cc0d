"""Address book pages of the signed-in customer, under ``/account/addresses`` (on the
account blueprint): the list with the default marked, add, edit, make default, and delete
after a confirmation page. Guests are sent to log in.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from shop.addresses import services
from shop.addresses.forms import AddressForm
from shop.addresses.validation import COUNTRIES
from shop.auth import bp
from shop.auth.forms import ConfirmForm
from shop.exceptions import NotFound, ShopError
from shop.transaction import unit_of_work
from shop.webforms import apply_errors


@bp.app_template_filter("country_name")
def country_name_filter(code: str | None) -> str:
    """``{{ "DE"|country_name }}`` -> ``Germany`` (a filter, so imported macros have it too)."""
    return COUNTRIES.get(code or "", code or "")


def _own_address(address_id: int):
    """The signed-in user's address, else 404 (another user's too)."""
    try:
        return services.get_address(current_user.id, address_id)
    except NotFound:
        abort(404)


def _render_form(form: AddressForm, address=None, status: int = 200):
    """The add/edit page."""
    return render_template("addresses/form.html", form=form, address=address), status


@bp.get("/account/addresses")
@login_required
def address_list():
    """The signed-in user's saved addresses, the default first."""
    addresses = services.list_addresses(current_user.id)
    return render_template("addresses/list.html", addresses=addresses, form=ConfirmForm())


@bp.route("/account/addresses/new", methods=["GET", "POST"])
@login_required
def address_new():
    """Add an address (the first one becomes the default)."""
    form = AddressForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.add_address(current_user.id, form.address(), make_default=form.is_default.data)
        except ShopError as exc:
            apply_errors(form, exc)
            return _render_form(form, status=exc.status)
        flash("Address saved.", "success")
        return redirect(url_for("auth.address_list"), 303)
    return _render_form(form, status=422 if form.errors else 200)


@bp.route("/account/addresses/<int:address_id>/edit", methods=["GET", "POST"])
@login_required
def address_edit(address_id: int):
    """Edit a saved address; another user's is 404."""
    address = _own_address(address_id)
    form = AddressForm(obj=address)
    if form.validate_on_submit():
        changes = {**form.address(), "is_default": True} if form.is_default.data else form.address()
        try:
            with unit_of_work():
                services.update_address(current_user.id, address_id, changes)
        except ShopError as exc:
            apply_errors(form, exc)
            return _render_form(form, address, exc.status)
        flash("Address updated.", "success")
        return redirect(url_for("auth.address_list"), 303)
    return _render_form(form, address, 422 if form.errors else 200)


@bp.post("/account/addresses/<int:address_id>/default")
@login_required
def address_make_default(address_id: int):
    """Make a saved address the default (the app's CSRF protection checks the POST)."""
    try:
        with unit_of_work():
            services.set_default(current_user.id, address_id)
    except NotFound:
        abort(404)
    flash("Default address changed.", "success")
    return redirect(url_for("auth.address_list"), 303)


@bp.route("/account/addresses/<int:address_id>/delete", methods=["GET", "POST"])
@login_required
def address_delete(address_id: int):
    """Confirm (GET) and delete (POST) a saved address; another user's is 404."""
    address = _own_address(address_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.delete_address(current_user.id, address_id)
        except NotFound:
            abort(404)
        flash("Address deleted.", "success")
        return redirect(url_for("auth.address_list"), 303)
    return render_template("addresses/delete.html", address=address, form=form)
