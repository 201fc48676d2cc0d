"""Cart pages: show (re-checked against price and stock), add, change quantity, remove.

Every visitor's cart comes from ``orders/visitor.py``; these views never ask who is
shopping. Checkout and order pages live in ``checkout_views.py`` and ``order_views.py``.
"""

from __future__ import annotations

from flask import flash, get_template_attribute, redirect, render_template, request, url_for

from shop.auth.redirects import safe_next_url
from shop.exceptions import NotFound, ShopError
from shop.money import display_money
from shop.orders import bp, quotes, visitor
from shop.orders import cart as carts
from shop.orders.forms import AddToCartForm, CartQuantityForm, DiscountCodeForm
from shop.orders.schemas import COUNTRIES
from shop.page_shell import memoized, personal_part
from shop.transaction import unit_of_work
from shop.webforms import apply_errors, first_error


@bp.app_context_processor
def _order_template_helpers() -> dict:
    """``cart_count()`` for the navigation bar and ``country_name(code)`` for addresses."""
    return {
        "cart_count": visitor.cart_count,
        "country_name": lambda code: COUNTRIES.get(code or "", code or ""),
    }


def _prefetch_count() -> None:
    """A customer's cart count comes with the page's shell (``shop.orders.cart_counts``)."""
    visitor.prefetch_cart_count()


#: Cart counts up to this have their badge kept in memory.
MEMO_BADGES = 100


@personal_part("cart-badge", prefetch=_prefetch_count)
def _cart_badge() -> str:
    """The navigation bar's cart count (units in the visitor's cart), on every page; the
    badges of the usual counts are kept in memory (the same for every visitor)."""
    count = visitor.cart_count()

    def render() -> str:
        return str(get_template_attribute("orders/_cart_badge.html", "cart_badge")(count))

    return render() if count > MEMO_BADGES else memoized(("cart-badge", count), render)


@bp.before_app_request
def _new_visit() -> None:
    """Each request resolves the visitor's cart afresh (``g`` can outlive a request)."""
    visitor.forget_cart()


def _back_to_cart():
    """Redirect (303) to the cart page."""
    return redirect(url_for("orders.cart"), 303)


def _stale_line(exc: NotFound):
    """A line that is not in the visitor's cart: the cart page, answered 404, says so."""
    flash(exc.detail, "info")
    return _render_cart(visitor.current_cart_view(acknowledge=False), status=404)


def _render_cart(view, code_form: DiscountCodeForm | None = None, status: int = 200):
    """The cart page with its estimate (shipping and tax for the visitor's country) and
    the discount code form."""
    cart = visitor.current_cart()
    country = visitor.estimate_country()
    breakdown = quotes.quote(
        view, country=country, code=cart.discount_code if cart else None, customer=visitor.customer()
    )
    return render_template(
        "orders/cart.html",
        view=view,
        form=CartQuantityForm(),
        code_form=code_form or DiscountCodeForm(formdata=None),
        breakdown=breakdown,
        cart_code=cart.discount_code if cart else None,
        estimate_country=country,
        countries=COUNTRIES,
    ), status


@bp.get("/cart")
def cart():
    """The cart, every line re-checked against current price and stock, with an estimate
    of shipping and tax for ``?country=`` (remembered) or the shop's country."""
    visitor.estimate_country(request.args.get("country"))
    return _render_cart(visitor.current_cart_view(acknowledge=True))


@bp.post("/cart/discount-code")
def cart_discount_apply():
    """Keep a discount code on the cart if it applies (else the cart page says why, 422)."""
    form = DiscountCodeForm()
    cart = visitor.current_cart()
    view = visitor.current_cart_view(acknowledge=False)
    if not form.validate_on_submit():
        return _render_cart(view, form, 422)
    if cart is None or not view.lines:
        flash("Your cart is empty: add something before entering a discount code.", "info")
        return _back_to_cart()
    try:
        with unit_of_work():
            breakdown = quotes.apply_discount_code(
                cart, view, form.discount_code.data, visitor.customer(), visitor.estimate_country()
            )
    except ShopError as exc:
        apply_errors(form, exc)
        return _render_cart(view, form, exc.status)
    flash(
        f"Code {breakdown.discount_code} applied: {display_money(breakdown.discount_cents)} off.", "success"
    )
    return _back_to_cart()


@bp.post("/cart/discount-code/remove")
def cart_discount_remove():
    """Take the discount code off the cart."""
    with unit_of_work():
        quotes.remove_discount_code(visitor.current_cart())
    flash("The discount code was removed.", "info")
    return _back_to_cart()


@bp.post("/cart/add")
def cart_add():
    """Add ``quantity`` of ``sku`` (form), then back to the cart with a message."""
    form = AddToCartForm()
    back = safe_next_url(request.form.get("next")) or url_for("orders.cart")
    if not form.validate_on_submit():
        flash(first_error(form), "danger")
        return redirect(back, 303)
    try:
        with unit_of_work():
            item = carts.add_item(visitor.current_cart(create=True), form.sku.data, form.quantity.data)
            name, total = item.product.name, item.quantity
    except ShopError as exc:
        flash(exc.detail, "danger")
        return redirect(back, 303)
    flash(f"Added {form.quantity.data} × {name} to your cart (now {total}).", "success")
    return _back_to_cart()


@bp.post("/cart/items/<int:item_id>")
def cart_update(item_id: int):
    """Change a line's quantity (0 removes it)."""
    form = CartQuantityForm()
    if not form.validate_on_submit():
        flash(first_error(form), "danger")
        return _back_to_cart()
    try:
        with unit_of_work():
            carts.update_item(_cart_or_not_found(), item_id, form.quantity.data)
    except NotFound as exc:
        return _stale_line(exc)
    except ShopError as exc:
        flash(exc.detail, "danger")
        return _back_to_cart()
    flash("Item removed from your cart." if form.quantity.data == 0 else "Quantity updated.", "success")
    return _back_to_cart()


@bp.post("/cart/items/<int:item_id>/remove")
def cart_remove(item_id: int):
    """Remove a line from the cart (CSRF is checked for every POST by CSRFProtect)."""
    try:
        with unit_of_work():
            carts.remove_item(_cart_or_not_found(), item_id)
    except NotFound as exc:
        return _stale_line(exc)
    flash("Item removed from your cart.", "success")
    return _back_to_cart()


def _cart_or_not_found():
    """The visitor's cart for changing a line.

    Raises:
        NotFound: the visitor has no cart, so the line cannot be theirs.
    """
    cart = visitor.current_cart()
    if cart is None:
        raise NotFound("That item is no longer in your cart.")
    return cart
