"""Admin pages."""

from flask import render_template

from shop.admin import bp
from shop.auth.guards import staff_required


@bp.get("/")
@staff_required
def dashboard():
    """Admin dashboard (placeholder)."""
    return render_template("catalog/home.html")
