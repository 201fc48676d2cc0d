"""Search results page."""

from flask import render_template

from shop.search import bp


@bp.get("/search")
def results():
    """Search results (placeholder)."""
    return render_template("catalog/home.html")
