"""Admin pages for orders."""

from flask import render_template

from shop.admin import bp
from shop.auth.guards import staff_required


@bp.get("/orders")
@staff_required
def order_list():
    """List orders (placeholder)."""
    return render_template("admin/dashboard.html")
