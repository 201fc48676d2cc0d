"""Checkout pages: the address and payment form, placing the order, the confirmation.

The form carries a one-time checkout token (see ``orders/checkout.py``); after a
successful POST the browser is redirected (303) to the confirmation, so neither a double
submit nor a reload places a second order.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, session, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from wtforms.fields.choices import SelectChoice

from shop.exceptions import NotFound, ShopError, ValidationFailed
from shop.extensions import db
from shop.orders import bp, checkout, notifications, payments, services
from shop.orders.forms import CheckoutForm
from shop.orders.views import current_cart_view, guest_cart, save_guest_cart

#: How many guest order numbers a browser session remembers (for the order pages).
GUEST_ORDERS_REMEMBERED = 20


def remember_guest_order(number: str) -> None:
    """Let this browser session see a guest order's page."""
    numbers = [n for n in session.get("guest_orders", []) if n != number]
    session["guest_orders"] = (numbers + [number])[-GUEST_ORDERS_REMEMBERED:]


def visible_order(number: str):
    """The order with this number if the visitor may see it: their own, or a guest order
    this session placed or looked up. Anyone else's order is a 404."""
    if current_user.is_authenticated:
        try:
            return services.get_user_order(number, current_user.id)
        except NotFound:
            pass
    if number in session.get("guest_orders", []):
        try:
            order = services.get_order_by_number(number)
        except NotFound:
            abort(404)
        if order.user_id is None:
            return order
    abort(404)


def _checkout_form(formdata=True) -> CheckoutForm:
    """The checkout form with the enabled payment providers as choices."""
    form = CheckoutForm() if formdata else CheckoutForm(formdata=None)
    providers = payments.enabled_providers()
    form.payment_provider.choices = [SelectChoice(p.name, p.label) for p in providers]
    if not form.payment_provider.data and providers:
        form.payment_provider.data = providers[0].name
    return form


def _render(form: CheckoutForm, view, status: int = 200, error: str | None = None):
    """Render the checkout page with a fresh token and the current total."""
    form.checkout_token.data = checkout.new_checkout_token()
    form.expected_total_cents.data = str(view.subtotal_cents)
    return render_template(
        "orders/checkout.html", form=form, view=view, error=error, providers=payments.enabled_providers()
    ), status


@bp.get("/checkout")
def checkout_page():
    """The checkout form (address, payment, e-mail for guests) with the cart summary."""
    view = current_cart_view(acknowledge=True)
    if not view.lines:
        flash("Your cart is empty.", "info")
        return redirect(url_for("orders.cart"))
    if not view.can_checkout:
        flash("Some items in your cart cannot be ordered as they are; please adjust them first.", "warning")
        return redirect(url_for("orders.cart"))
    form = _checkout_form(formdata=False)
    if current_user.is_authenticated:
        form.name.data = current_user.name
    if view.notices:
        for notice in view.notices:
            flash(notice, "warning")
    return _render(form, view)


@bp.post("/checkout")
def checkout_submit():
    """Place the order, then redirect to its confirmation (or show what went wrong)."""
    form = _checkout_form()
    guest = not current_user.is_authenticated
    if guest and not form.email.data:
        form.validate()
        form.email.errors = list(form.email.errors) + ["An e-mail address is needed for your confirmation."]
        return _render(form, current_cart_view(acknowledge=False), 422)
    if not form.validate_on_submit():
        return _render(form, current_cart_view(acknowledge=False), 422)
    try:
        number = checkout.read_checkout_token(form.checkout_token.data)
        expected = (
            int(form.expected_total_cents.data) if (form.expected_total_cents.data or "").isdigit() else None
        )
        items, _prices = guest_cart()
        result = checkout.place_order(
            user_id=None if guest else current_user.id,
            email=form.email.data if guest else current_user.email,
            shipping_address=form.address(),
            payment_provider=form.payment_provider.data,
            guest_items=items if guest else None,
            order_number=number,
            expected_total_cents=expected,
        )
        order = result.order
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        if not checkout.is_unique_clash(exc, "uq_orders_number", "orders.number"):
            raise
        # A concurrent submit of the same form placed the order first.
        try:
            order = services.get_order_by_number(number)
        except NotFound:
            return _render(
                form,
                current_cart_view(acknowledge=False),
                409,
                "Your order could not be placed just now; please try again.",
            )
        result = checkout.CheckoutResult(order, created=False)
        if (guest and order.user_id is not None) or (not guest and order.user_id != current_user.id):
            abort(404)
    except ShopError as exc:
        db.session.rollback()
        view = current_cart_view(acknowledge=False)
        if isinstance(exc, ValidationFailed):
            for key, messages in exc.errors.items():
                field = getattr(form, key.split(".")[-1], None)
                if field is not None:
                    field.errors = list(field.errors) + list(messages)
        return _render(form, view, exc.status, exc.detail)

    if guest:
        save_guest_cart({}, {})
        remember_guest_order(order.number)
    if result.created:
        notifications.send_order_confirmation(
            order, url_for("orders.order_detail", number=order.number, _external=True)
        )
        flash(f"Thank you! Your order {order.number} has been placed.", "success")
    else:
        flash(f"Order {order.number} was already placed; it was not placed twice.", "info")
    return redirect(url_for("orders.order_confirmation", number=order.number), 303)


@bp.get("/orders/<number>/thanks")
def order_confirmation(number: str):
    """Confirmation after checkout: summary and what to do next (payment instructions)."""
    order = visible_order(number)
    provider = payments.find_provider(order.payment_provider)
    return render_template(
        "orders/confirmation.html",
        order=order,
        instructions=provider.instructions(order) if provider else "",
        status_label=services.status_label,
    )
