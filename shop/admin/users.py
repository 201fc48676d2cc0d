"""Admin pages for users."""

from flask import render_template

from shop.admin import bp
from shop.auth.guards import admin_required


@bp.get("/users")
@admin_required
def user_list():
    """List users (placeholder)."""
    return render_template("admin/dashboard.html")
