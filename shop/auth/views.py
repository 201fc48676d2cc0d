"""Login, registration, logout and account pages."""

from flask import render_template

from shop.auth import bp


@bp.get("/auth/login")
def login():
    """Login page (placeholder)."""
    return render_template("catalog/home.html")


@bp.get("/auth/register")
def register():
    """Register page (placeholder)."""
    return render_template("catalog/home.html")


@bp.post("/auth/logout")
def logout():
    """Log out (placeholder)."""
    return render_template("catalog/home.html")


@bp.get("/account")
def account():
    """Account page (placeholder)."""
    return render_template("catalog/home.html")
