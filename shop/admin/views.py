"""Admin pages: the dashboard; products, orders and users live in their own modules."""

from flask import render_template

from shop.admin import bp
from shop.auth.guards import staff_required

# Route modules register on ``bp`` when imported.
from shop.admin import orders as _orders, products as _products, users as _users  # noqa: E402,F401


@bp.get("/")
@staff_required
def dashboard():
    """Admin dashboard."""
    return render_template("admin/dashboard.html")
