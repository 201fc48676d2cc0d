"""Catalog pages: home, product listing, category pages, product page.

The catalog parts of each page (product grids, the product's details) are rendered once
per catalog version and cached as HTML fragments (``shop.cache.cached_catalog``); the
per-visitor parts (navigation, cart count, the add-to-cart form with its CSRF token) are
rendered on every request around them.
"""

from __future__ import annotations

from flask import abort, current_app, render_template, request

from shop.cache import cached_catalog
from shop.catalog import bp
from shop.catalog.schemas import SORTS
from shop.catalog.services import (
    ProductFilters,
    brand_counts,
    category_info,
    category_tree_cached,
    list_products,
    product_detail_data,
)
from shop.catalog.showcase import best_sellers, featured_products
from shop.exceptions import NotFound
from shop.money import parse_money

MAX_PAGE = 100_000
#: Stands in the cached product fragment where the per-visitor add-to-cart form goes.
CART_FORM_MARK = "<!--cart-form-->"


def _price_arg(name: str) -> tuple[int | None, str]:
    """A price filter from the query string in shop-currency units (``50`` or ``49.95``).

    Returns:
        ``(cents or None, the text as typed)``; unparseable input is ignored.
    """
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None, ""
    try:
        return parse_money(raw, current_app.config["SHOP_CURRENCY"]), raw
    except ValueError:
        return None, ""


def _listing_filters(category_ids: tuple[int, ...] | None) -> tuple[ProductFilters, dict]:
    """Filters from the query string, and the args to keep in page/sort links."""
    page = request.args.get("page", 1, type=int) or 1
    sort = request.args.get("sort", "name")
    if sort not in SORTS:
        sort = "name"
    brand = (request.args.get("brand") or "").strip()[:120] or None
    min_price, min_text = _price_arg("min_price")
    max_price, max_text = _price_arg("max_price")
    if min_price is not None and max_price is not None and min_price > max_price:
        min_price, max_price, min_text, max_text = max_price, min_price, max_text, min_text
    filters = ProductFilters(
        category_ids=category_ids,
        brand=brand,
        min_price=min_price,
        max_price=max_price,
        sort=sort,
        page=max(1, min(page, MAX_PAGE)),
        per_page=current_app.config["PRODUCTS_PER_PAGE"],
    )
    keep = {
        k: v
        for k, v in {
            "brand": brand,
            "min_price": min_text,
            "max_price": max_text,
            "sort": sort if sort != "name" else None,
        }.items()
        if v
    }
    return filters, keep


def _render_listing(title: str, endpoint: str, url_args: dict, category: dict | None):
    """The listing page shared by /products and /c/<slug>."""
    filters, keep = _listing_filters(tuple(category["ids"]) if category else None)

    def grid() -> str:
        result = list_products(filters)
        return render_template(
            "catalog/_grid.html", result=result, endpoint=endpoint, link_args={**url_args, **keep}
        )

    fragment = cached_catalog(("page", endpoint, url_args.get("slug", "")) + filters.key(), grid)
    brands = cached_catalog(
        ("brands",) + (filters.category_ids or ()), lambda: brand_counts(filters.category_ids)
    )
    return render_template(
        "catalog/list.html",
        title=title,
        fragment=fragment,
        category=category,
        brands=brands,
        filters=filters,
        keep=keep,
        endpoint=endpoint,
        url_args=url_args,
        sorts=SORTS,
        tree=category_tree_cached(),
    )


@bp.get("/")
def home():
    """Home page: featured products and best sellers, then the category index."""

    def featured() -> str:
        return render_template(
            "catalog/_featured.html", featured=featured_products(8), best_sellers=best_sellers(4)
        )

    return render_template(
        "catalog/home.html", tree=category_tree_cached(), featured=cached_catalog(("page", "home"), featured)
    )


@bp.get("/products")
def product_list():
    """All active products: 24 a page, sortable, filterable by brand and price."""
    return _render_listing("All products", "catalog.product_list", {}, None)


@bp.get("/c/<slug>")
def category(slug: str):
    """A category page; a top-level category lists the products of all its leaves."""
    info = cached_catalog(("category", slug), lambda: _category_or_empty(slug))
    if not info:
        abort(404)
    return _render_listing(info["name"], "catalog.category", {"slug": slug}, info)


def _category_or_empty(slug: str) -> dict:
    """Category info, or {} when there is none (so misses are cached too)."""
    try:
        return category_info(slug)
    except NotFound:
        return {}


@bp.get("/p/<slug>")
def product_detail(slug: str):
    """A product page: title, brand, price, stock state, spec table, add-to-cart form."""
    try:
        product = product_detail_data(slug)
    except NotFound:
        abort(404)
    fragment = cached_catalog(
        ("page", "product", slug),
        lambda: render_template("catalog/_detail.html", product=product, cart_form=CART_FORM_MARK),
    )
    # The cart endpoint belongs to the orders package; without it there is no form.
    can_add = "orders.cart_add" in current_app.view_functions
    form = render_template("catalog/_cart_form.html", product=product, can_add=can_add)
    return render_template(
        "catalog/detail.html", product=product, fragment=fragment.replace(CART_FORM_MARK, form, 1)
    )
