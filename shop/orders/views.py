"""Cart, checkout and order pages."""

from flask import render_template

from shop.orders import bp


@bp.get("/cart")
def cart():
    """Cart page (placeholder)."""
    return render_template("catalog/home.html")


@bp.get("/orders")
def order_list():
    """Order history (placeholder)."""
    return render_template("catalog/home.html")
