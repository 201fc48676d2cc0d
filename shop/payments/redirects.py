"""Sending a shopper to Stripe's hosted page: request-bound helpers shared by the
checkout page (right after an order is placed) and the order's "Pay now" button."""

from __future__ import annotations

from flask import flash, redirect, url_for

from shop.exceptions import ShopError
from shop.orders import visitor
from shop.payments import cards
from shop.transaction import unit_of_work


def checkout_urls(number: str) -> dict:
    """Where Stripe sends the shopper back: the order's confirmation page either way (it
    shows whether the payment has been confirmed yet)."""
    page = url_for("orders.order_confirmation", number=number, _external=True)
    return {"success_url": f"{page}?payment=returned", "cancel_url": f"{page}?payment=cancelled"}


def pay_redirect(number: str):
    """Redirect (303) to Stripe's page for an unpaid card order, or back to the order's
    confirmation page with a message when that cannot be done now."""
    try:
        with unit_of_work():
            url = cards.start_checkout(visitor.visible_order(number), **checkout_urls(number))
    except ShopError as exc:
        flash(f"{exc.detail} Your order is kept; you can try “Pay now” again.", "warning")
        return redirect(url_for("orders.order_confirmation", number=number), 303)
    return redirect(url, 303)
