"""Catalog pages: home, product listing, category pages, product page."""

from __future__ import annotations

from flask import render_template

from shop.catalog import bp


@bp.get("/")
def home():
    """Home page."""
    return render_template("catalog/home.html")


@bp.get("/products")
def product_list():
    """All active products (placeholder)."""
    return render_template("catalog/home.html")


@bp.get("/c/<slug>")
def category(slug: str):
    """A category page (placeholder)."""
    return render_template("catalog/home.html")


@bp.get("/p/<slug>")
def product_detail(slug: str):
    """A product page (placeholder)."""
    return render_template("catalog/home.html")
