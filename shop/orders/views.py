"""Cart pages: show (re-checked against price and stock), add, change quantity, remove.

A guest's cart is kept in the session (``session["cart"]`` quantities and
``session["cart_prices"]`` seen prices); a signed-in shopper's cart is in the database.
Checkout and order pages live in ``checkout_views.py`` and ``order_views.py``.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from shop.exceptions import NotFound, ShopError
from shop.extensions import db
from shop.orders import bp
from shop.orders import cart as carts
from shop.orders.forms import AddToCartForm, CartQuantityForm
from shop.orders.schemas import COUNTRIES


@bp.app_context_processor
def _order_template_helpers() -> dict:
    """``country_name(code)`` for address blocks on shopper and staff pages."""
    return {"country_name": lambda code: COUNTRIES.get(code or "", code or "")}


def guest_cart() -> tuple[dict, dict]:
    """The guest's session cart: ``(quantities, seen_prices)`` keyed by product id text."""
    return dict(session.get("cart") or {}), dict(session.get("cart_prices") or {})


def save_guest_cart(items: dict, prices: dict) -> None:
    """Store the guest's session cart."""
    session["cart"] = items
    session["cart_prices"] = prices


def current_cart_view(acknowledge: bool = True) -> carts.CartView:
    """The visitor's cart re-checked against price and stock; stores the updates."""
    if current_user.is_authenticated:
        view = carts.review_user_cart(current_user.id, acknowledge=acknowledge)
        db.session.commit()
        return view
    items, prices = guest_cart()
    view, items, prices = carts.review_guest_cart(items, prices, acknowledge=acknowledge)
    if acknowledge:
        save_guest_cart(items, prices)
    return view


def _safe_next(default: str) -> str:
    """A same-site relative path from the form's ``next`` field, else ``default``."""
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _form_errors(form) -> str:
    """The first error of a form as one sentence."""
    for field, errors in form.errors.items():
        label = getattr(getattr(form, field, None), "label", None)
        return f"{label.text if label else field}: {errors[0]}"
    return "Please check the form."


@bp.get("/cart")
def cart():
    """The cart, every line re-checked against current price and stock."""
    view = current_cart_view(acknowledge=True)
    return render_template("orders/cart.html", view=view, form=CartQuantityForm())


@bp.post("/cart/add")
def cart_add():
    """Add ``quantity`` of ``sku`` (form), then back to the cart with a message."""
    form = AddToCartForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "danger")
        return redirect(_safe_next(url_for("orders.cart")), 303)
    try:
        if current_user.is_authenticated:
            item = carts.add_item(current_user.id, form.sku.data, form.quantity.data)
            name, total = item.product.name, item.quantity
            db.session.commit()
        else:
            items, prices = guest_cart()
            items, prices, product = carts.guest_add(items, prices, form.sku.data, form.quantity.data)
            save_guest_cart(items, prices)
            name, total = product.name, items[str(product.id)]
    except ShopError as exc:
        db.session.rollback()
        flash(exc.detail, "danger")
        return redirect(_safe_next(url_for("orders.cart")), 303)
    flash(f"Added {form.quantity.data} × {name} to your cart (now {total}).", "success")
    return redirect(url_for("orders.cart"), 303)


@bp.post("/cart/items/<int:item_id>")
def cart_update(item_id: int):
    """Change a line's quantity (0 removes it)."""
    form = CartQuantityForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "danger")
        return redirect(url_for("orders.cart"), 303)
    try:
        if current_user.is_authenticated:
            carts.update_item(current_user.id, item_id, form.quantity.data)
            db.session.commit()
        else:
            items, prices = carts.guest_update(*guest_cart(), item_id, form.quantity.data)
            save_guest_cart(items, prices)
    except NotFound:
        if current_user.is_authenticated:
            raise  # a line id that is not in the account's cart: 404, like any other user's resource
        flash("That item is no longer in your cart.", "info")  # a guest's stale page
        return redirect(url_for("orders.cart"), 303)
    except ShopError as exc:
        db.session.rollback()
        flash(exc.detail, "danger")
        return redirect(url_for("orders.cart"), 303)
    flash("Item removed from your cart." if form.quantity.data == 0 else "Quantity updated.", "success")
    return redirect(url_for("orders.cart"), 303)


@bp.post("/cart/items/<int:item_id>/remove")
def cart_remove(item_id: int):
    """Remove a line from the cart (CSRF is checked for every POST by CSRFProtect)."""
    try:
        if current_user.is_authenticated:
            carts.remove_item(current_user.id, item_id)
            db.session.commit()
        else:
            save_guest_cart(*carts.guest_remove(*guest_cart(), item_id))
    except NotFound:
        if current_user.is_authenticated:
            raise  # a line id that is not in the account's cart: 404
        flash("That item is no longer in your cart.", "info")  # a guest's stale page
        return redirect(url_for("orders.cart"), 303)
    except ShopError as exc:
        db.session.rollback()
        flash(exc.detail, "danger")
        return redirect(url_for("orders.cart"), 303)
    flash("Item removed from your cart.", "success")
    return redirect(url_for("orders.cart"), 303)


# Checkout and order pages register on ``bp`` when imported.
from shop.orders import checkout_views as _checkout_views  # noqa: E402,F401
from shop.orders import order_views as _order_views  # noqa: E402,F401
