"""Catalog pages: home, product listing, category pages, product page.

The catalog parts of each page (product grids, the product's details, the category
sidebar) are rendered once per catalog state and cached as HTML fragments, all of a page's
read in one cache round trip (``shop.cache.cached_entries``); fragments that show stock
are rebuilt when a sale changes one of their products' stock. The per-visitor parts
(navigation, cart count, the add-to-cart form) are rendered on every request around them.
"""

from __future__ import annotations

import time

from flask import Response, abort, current_app, get_template_attribute, render_template, request
from markupsafe import Markup

from shop.cache import Stamped, cached_entries
from shop.catalog import bp
from shop.catalog.schemas import SORTS
from shop.catalog.services import (
    CATEGORY_TREE_KEY,
    ProductFilters,
    brand_counts,
    category_info,
    category_tree,
    list_products_stamped,
    product_detail_stamped,
    product_key,
    products_stamped,
)
from shop.catalog.showcase import best_seller_ids, featured_product_ids
from shop.exceptions import NotFound
from shop.front_cache import public_page
from shop.http_caching import public_request
from shop.money import parse_money
from shop.page_shell import fill_shell, prefetch_parts, render_shell, split_shell

MAX_PAGE = 100_000
#: How long the home page's best sellers may lag behind the sales, in seconds.
BEST_SELLERS_SECONDS = 600
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


def _public_page(build) -> str | Response:
    """The whole page, from the cache when it can be.

    A visitor without a session gets the page itself, the same for every such visitor
    (:func:`shop.front_cache.public_page`). Anyone else gets the cached shell of the page
    with their personal parts filled in (:mod:`shop.page_shell`), kept by its URL under the
    same catalog version and stock stamps. ``build()`` returns ``(html, stamps)``.
    """
    if public_request():
        return public_page(build)

    def produce(values, stamps):
        html, page_stamps = render_shell(build)
        return Stamped(split_shell(html), page_stamps)

    prefetch_parts()
    return fill_shell(cached_entries({"page": (("shell", request.full_path), produce)})["page"])


def _render_listing(title: str, endpoint: str, slug: str = "") -> tuple[str, dict | None]:
    """The listing page shared by /products and /c/<slug>: ``(html, stamps)``.

    Aborts with 404 for an unknown category.
    """
    url_args = {"slug": slug} if slug else {}

    def info(values, stamps):
        return _category_or_empty(slug) if slug else {}

    def filters_for(category: dict):
        return _listing_filters(tuple(category["ids"]) if category else None)

    def grid(values, stamps) -> Stamped:
        filters, keep = filters_for(values["category"])
        result = list_products_stamped(filters)
        html = render_template(
            "catalog/_grid.html", result=result.value, endpoint=endpoint, link_args={**url_args, **keep}
        )
        return Stamped(html, result.stamps)

    def brands(values, stamps):
        return brand_counts(filters_for(values["category"])[0].category_ids)

    # The filters from the query string (the category's ids aside) name the grid's entry.
    named = _listing_filters(None)[0].key()[1:]
    entries, stamps = cached_entries(
        {
            "category": (("category", slug), info),
            "tree": (CATEGORY_TREE_KEY, lambda values, stamps: category_tree()),
            "sidebar": (("sidebar", slug), lambda values, stamps: _sidebar(values["tree"], slug or None)),
            "brands": (("brands", slug), brands),
            "grid": (("page", endpoint, slug) + named, grid),
        },
        with_stamps=True,
    )
    category = entries["category"]
    if slug and not category:
        abort(404)
    filters, keep = filters_for(category)
    html = render_template(
        "catalog/list.html",
        title=category["name"] if slug else title,
        fragment=entries["grid"],
        category=category or None,
        brands=entries["brands"],
        filters=filters,
        keep=keep,
        endpoint=endpoint,
        url_args=url_args,
        sorts=SORTS,
        tree=entries["tree"],
        sidebar=Markup(entries["sidebar"]),
    )
    return html, stamps


def _sidebar(tree: list[dict], current: str | None) -> str:
    """The category sidebar (47 links) rendered once per catalog version and category."""
    return str(get_template_attribute("catalog/_macros.html", "category_nav")(tree, current))


@bp.get("/")
def home():
    """Home page: featured products and best sellers, then the category index."""

    def featured(values, stamps) -> Stamped:
        featured_ids, best_ids = featured_product_ids(8), best_seller_ids(4)
        by_id, shown = products_stamped([*featured_ids, *best_ids])
        return Stamped(
            render_template(
                "catalog/_featured.html",
                featured=[by_id[i] for i in featured_ids if i in by_id],
                best_sellers=[by_id[i] for i in best_ids if i in by_id],
            ),
            shown,
        )

    def build():
        entries, stamps = cached_entries(
            {
                "tree": (CATEGORY_TREE_KEY, lambda values, stamps: category_tree()),
                # Best sellers move with sales, which no longer bump the catalog version:
                # the fragment is rebuilt at least every BEST_SELLERS_SECONDS.
                "featured": (("page", "home", int(time.time() // BEST_SELLERS_SECONDS)), featured),
            },
            with_stamps=True,
        )
        return render_template(
            "catalog/home.html", tree=entries["tree"], featured=entries["featured"]
        ), stamps

    return _public_page(build)


@bp.get("/products")
def product_list():
    """All active products: 24 a page, sortable, filterable by brand and price."""
    return _public_page(lambda: _render_listing("All products", "catalog.product_list"))


@bp.get("/c/<slug>")
def category(slug: str):
    """A category page; a top-level category lists the products of all its leaves."""
    return _public_page(lambda: _render_listing("", "catalog.category", slug))


def _category_or_empty(slug: str) -> dict:
    """Category info, or {} when there is none (so misses are cached too)."""
    try:
        return category_info(slug)
    except NotFound:
        return {}


@bp.get("/p/<slug>")
def product_detail(slug: str):
    """A product page: title, brand, price, stock state, spec table, add-to-cart form."""

    def detail(values, stamps):
        product = values["product"]
        if not product:
            return ""
        html = render_template("catalog/_detail.html", product=product, cart_form=CART_FORM_MARK)
        return Stamped(html, stamps["product"])

    def build():
        entries, stamps = cached_entries(
            {
                "product": (product_key(slug), lambda values, stamps: product_detail_stamped(slug)),
                "fragment": (("page", "product", slug), detail),
            },
            with_stamps=True,
        )
        product = entries["product"]
        if not product:
            abort(404)
        # The cart endpoint belongs to the orders package; without it there is no form.
        can_add = "orders.cart_add" in current_app.view_functions
        form = render_template("catalog/_cart_form.html", product=product, can_add=can_add)
        fragment = entries["fragment"].replace(CART_FORM_MARK, form, 1)
        return render_template("catalog/detail.html", product=product, fragment=fragment), stamps

    return _public_page(build)
