"""Order pages for shoppers: history, one order (with its events in plain words),
cancelling while unpaid, and the guest look-up by number and e-mail."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from shop.exceptions import NotFound, ShopError
from shop.extensions import db, limiter
from shop.orders import bp, services, visitor
from shop.orders.forms import GuestLookupForm
from shop.payments import providers as payments
from shop.transaction import unit_of_work

ORDERS_PER_PAGE = 20


@bp.get("/orders")
def order_list():
    """The signed-in shopper's orders, newest first (guests are sent to the look-up page)."""
    user_id = visitor.shopper().user_id
    if user_id is None:
        return redirect(url_for("orders.guest_lookup"))
    page = request.args.get("page", 1, type=int)
    pagination = db.paginate(
        services.user_orders(user_id), page=max(page, 1), per_page=ORDERS_PER_PAGE, error_out=False
    )
    return render_template(
        "orders/order_list.html",
        pagination=pagination,
        status_label=services.status_label,
        status_colours=services.STATUS_COLOURS,
    )


@bp.get("/orders/<number>")
def order_detail(number: str):
    """One order: lines, address, payment and its history in plain words."""
    order = visitor.visible_order(number)
    provider = payments.find_provider(order.payment_provider)
    return render_template(
        "orders/order_detail.html",
        order=order,
        events=[(ev, services.describe_event(ev, order)) for ev in order.events],
        can_cancel=order.status == "pending_payment",
        provider_label=payments.provider_label(order.payment_provider),
        instructions=provider.instructions(order) if provider and order.status == "pending_payment" else "",
        status_label=services.status_label,
        status_colours=services.STATUS_COLOURS,
    )


@bp.post("/orders/<number>/cancel")
def order_cancel(number: str):
    """Cancel one's own order while it waits for payment; the stock goes back."""
    order = visitor.visible_order(number)
    try:
        with unit_of_work():
            services.cancel_order(order.id, visitor.shopper().user_id)
    except ShopError as exc:
        flash(exc.detail, "danger")
        return redirect(url_for("orders.order_detail", number=number), 303)
    flash(f"Order {number} has been cancelled.", "success")
    return redirect(url_for("orders.order_detail", number=number), 303)


def _lookup_limit() -> str:
    """The look-up form is rate limited like the login form (guessing numbers is slow)."""
    return current_app.config.get("LOGIN_RATE_LIMIT", "10 per minute")


@bp.route("/orders/lookup", methods=["GET", "POST"])
@limiter.limit(_lookup_limit, methods=["POST"])
def guest_lookup():
    """Find a guest order by number and the e-mail address used at checkout.

    ``?number=`` (the link in an order mail) fills the number in, so the guest only types
    the e-mail address.
    """
    form = GuestLookupForm()
    if request.method == "GET" and not form.number.data:
        form.number.data = services.normalize_order_number(request.args.get("number", "")[:64]) or None
    if form.validate_on_submit():
        try:
            order = services.find_guest_order(form.number.data, form.email.data)
        except NotFound as exc:
            flash(exc.detail, "danger")
            return render_template("orders/lookup.html", form=form), 404
        visitor.remember_order(order.number)
        return redirect(url_for("orders.order_detail", number=order.number), 303)
    status = 422 if form.errors else 200
    return render_template("orders/lookup.html", form=form), status
