"""Checkout pages: the address, shipping, discount and payment form, placing the order,
the confirmation.

The page shows the totals (``pricing/totals.py``) for what the form says; "Update totals"
recomputes them for a new address, method or code, and a submit whose choices differ from
what the page showed shows the new totals instead of placing the order, so the shopper
always confirms the total they are charged.

The form carries a one-time checkout token (see ``orders/checkout.py``); after a
successful POST the browser is redirected (303) to the confirmation, so neither a double
submit nor a reload places a second order.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from wtforms.fields.choices import SelectChoice

from shop.addresses import services as address_book
from shop.addresses.services import AddressBookFull
from shop.exceptions import NotFound, ShopError
from shop.money import display_money
from shop.orders import bp, checkout, idempotency, notifications, quotes, services, visitor
from shop.orders.cart_lines import CartView
from shop.orders.forms import CheckoutForm
from shop.payments import providers as payments
from shop.payments.redirects import pay_redirect
from shop.pricing.discounts import Customer
from shop.pricing.totals import Breakdown
from shop.transaction import unit_of_work
from shop.webforms import add_error, apply_errors


def _checkout_form(formdata=True) -> CheckoutForm:
    """The checkout form with the enabled payment providers as choices."""
    form = CheckoutForm() if formdata else CheckoutForm(formdata=None)
    providers = payments.enabled_providers()
    form.payment_provider.choices = [SelectChoice(p.name, p.label) for p in providers]
    if not form.payment_provider.data and providers:
        form.payment_provider.data = providers[0].name
    return form


def _selection(form: CheckoutForm) -> dict:
    """What the totals depend on, as the form now says: ``{country, region,
    shipping_method_id, code}``."""
    return {
        "country": (form.country.data or "").upper(),
        "region": form.region.data or "",
        "shipping_method_id": form.shipping_method.data,
        "code": form.discount_code.data or "",
    }


def _fingerprint(selection: dict) -> str:
    """A short text of a selection, kept in the form to tell whether the shopper changed it."""
    return "|".join(
        str(selection[k] or "") for k in ("country", "region", "shipping_method_id", "code")
    ).upper()


def _quote(form: CheckoutForm, view: CartView) -> Breakdown:
    """The totals for the form's address, method and code."""
    sel = _selection(form)
    who = visitor.shopper()
    return quotes.quote(
        view,
        country=sel["country"] or visitor.estimate_country(),
        region=sel["region"],
        shipping_method_id=sel["shipping_method_id"],
        code=sel["code"],
        customer=Customer(who.user_id, who.email or form.email.data or None),
    )


def _fill_address(form: CheckoutForm, address: dict) -> None:
    """Put an address's fields into the form's address fields."""
    for name, value in address.items():
        if hasattr(form, name):
            getattr(form, name).data = value


def _use_saved_address(form: CheckoutForm, shopper: visitor.Shopper) -> None:
    """Fill the address fields from the saved address the customer chose (another
    user's id, or one deleted meanwhile, changes nothing)."""
    if shopper.user_id is None or not form.saved_address.data:
        return
    try:
        saved = address_book.get_address(shopper.user_id, form.saved_address.data)
    except NotFound:
        return
    _fill_address(form, address_book.address_dict(saved))


def _remember_address(form: CheckoutForm, shopper: visitor.Shopper, address: dict) -> None:
    """Save the order's address in the customer's book when they asked (in the order's
    transaction); a full book only skips it, with a note."""
    if shopper.user_id is None or not form.save_address.data:
        return
    try:
        address_book.remember_address(shopper.user_id, address)
    except AddressBookFull as exc:
        flash(f"{exc.detail} The address was not saved.", "info")


def _choices_changed_the_total(form: CheckoutForm) -> bool:
    """True when the shopper changed the address, method or code since the page was shown
    and the total is no longer the one shown (typing a region that costs the same does not
    ask them to confirm again)."""
    if not form.quoted_for.data or form.quoted_for.data == _fingerprint(_selection(form)):
        return False
    view = visitor.current_cart_view(acknowledge=False)
    return _quote(form, view).total_cents != _expected_total(form)


def _method_label(option) -> str:
    """``Standard · $4.95 · 3–5 working days``."""
    price = "Free" if not option.price_cents else display_money(option.price_cents)
    days = (
        f"{option.min_days}–{option.max_days}" if option.max_days != option.min_days else str(option.max_days)
    )
    unit = ngettext("working day", "working days", option.max_days)
    return f"{option.name} · {price} · {days} {unit}"


def _render(form: CheckoutForm, status: int = 200, error: str | None = None):
    """Render the checkout page with the cart as it stands, its totals for the form's
    address, method and code, and a fresh token; the form remembers what it quoted."""
    view = visitor.current_cart_view(acknowledge=False)
    breakdown = _quote(form, view)
    if breakdown.discount_refusal and not form.discount_code.errors:
        form.discount_code.errors = [breakdown.discount_refusal]
    form.shipping_method.choices = [
        SelectChoice(o.method_id, _method_label(o)) for o in breakdown.shipping_options
    ]
    form.shipping_method.data = breakdown.shipping_method_id
    form.checkout_token.data = idempotency.new_checkout_token()
    form.expected_total_cents.data = str(breakdown.total_cents)
    form.quoted_for.data = _fingerprint(_selection(form))
    who = visitor.shopper()
    return render_template(
        "orders/checkout.html",
        form=form,
        view=view,
        breakdown=breakdown,
        saved_addresses=address_book.list_addresses(who.user_id) if who.user_id else [],
        error=error,
        shopper=visitor.shopper(),
        providers=payments.enabled_providers(),
    ), status


def _valid(form: CheckoutForm, shopper: visitor.Shopper) -> bool:
    """Validate the form; a shopper without an account must give an e-mail address."""
    valid = form.validate_on_submit()
    if shopper.email is None and not form.email.data:
        add_error(form, "email", "An e-mail address is needed for your confirmation.")
        return False
    return valid


def _expected_total(form: CheckoutForm) -> int | None:
    """The total (cents) the shopper saw on the form, or None if it is missing or garbled."""
    value = form.expected_total_cents.data or ""
    return int(value) if value.isdigit() else None


@bp.get("/checkout")
def checkout_page():
    """The checkout form (address, payment, e-mail for guests) with the cart summary."""
    view = visitor.current_cart_view(acknowledge=True)
    if not view.lines:
        flash("Your cart is empty.", "info")
        return redirect(url_for("orders.cart"))
    if not view.can_checkout:
        flash("Some items in your cart cannot be ordered as they are; please adjust them first.", "warning")
        return redirect(url_for("orders.cart"))
    form = _checkout_form(formdata=False)
    who = visitor.shopper()
    form.name.data = who.name
    form.country.data = visitor.estimate_country()
    default = address_book.default_address(who.user_id) if who.user_id else None
    if default is not None:
        _fill_address(form, address_book.address_dict(default))
        form.saved_address.data = default.id
    cart = visitor.current_cart()
    form.discount_code.data = cart.discount_code if cart else None
    for notice in view.notices:
        flash(notice, "warning")
    return _render(form)


@bp.post("/checkout")
def checkout_submit():
    """Place the order, then redirect to its confirmation (or show what went wrong)."""
    form = _checkout_form()
    shopper = visitor.shopper()
    if request.form.get("action") == "update":
        _use_saved_address(form, shopper)
        return _render(form)
    if _choices_changed_the_total(form):
        flash("Your totals changed with your choices; check them, then place your order.", "info")
        return _render(form)
    if not _valid(form, shopper):
        return _render(form, 422)
    try:
        with unit_of_work():
            result = checkout.place_order(
                cart=visitor.current_cart(),
                user_id=shopper.user_id,
                email=shopper.email or form.email.data,
                shipping_address=form.address(),
                payment_provider=form.payment_provider.data,
                order_number=idempotency.read_checkout_token(form.checkout_token.data),
                expected_total_cents=_expected_total(form),
                shipping_method_id=form.shipping_method.data,
                discount_code=form.discount_code.data,
            )
            number, created, to_provider = result.order.number, result.created, result.redirect
            if created:
                _remember_address(form, shopper, result.order.shipping_address)
                # In the order's transaction: the mail goes out once the order is committed.
                notifications.queue_order_confirmation(
                    result.order, url_for("orders.order_detail", number=number, _external=True)
                )
    except ShopError as exc:
        apply_errors(form, exc)
        return _render(form, exc.status, exc.detail)
    # The order is committed: nothing below reads the database, so no failure after the
    # commit can show a placed order as an error.
    visitor.remember_order(number)
    if to_provider:
        return pay_redirect(number)
    if created:
        flash(f"Thank you! Your order {number} has been placed.", "success")
    else:
        flash(f"Order {number} was already placed; it was not placed twice.", "info")
    return redirect(url_for("orders.order_confirmation", number=number), 303)


@bp.get("/orders/<number>/thanks")
def order_confirmation(number: str):
    """Confirmation after checkout: summary and what to do next (payment instructions)."""
    order = visitor.visible_order(number)
    provider = payments.find_provider(order.payment_provider)
    return render_template(
        "orders/confirmation.html",
        order=order,
        instructions=provider.instructions(order) if provider else "",
        status_label=services.status_label,
    )
