"""Admin pages for products."""

from flask import render_template

from shop.admin import bp
from shop.auth.guards import staff_required


@bp.get("/products")
@staff_required
def product_list():
    """List products (placeholder)."""
    return render_template("admin/dashboard.html")
