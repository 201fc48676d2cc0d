"""Jinja filters and globals, plurals (Flask-Babel) and the brand's theme stylesheet."""

from __future__ import annotations

import re

from flask import Flask, Response, current_app, url_for
from flask_babel import Babel

from shop.catalog import images
from shop.catalog.display import display_title, model_adds_to_title, spec_value
from shop.catalog.models import LOW_STOCK_THRESHOLD, is_low_stock
from shop.catalog.services import category_tree_cached
from shop.money import display_money, format_rate
from shop.orders.cart_lines import max_quantity
from shop.page_shell import personal
from shop.pricing.display import breakdown_rows

babel = Babel()

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def _rgb(colour: str, fallback: str) -> tuple[int, int, int]:
    """``#0b4f6c`` -> ``(11, 79, 108)``; ``fallback`` when the setting is not a 6-digit hex."""
    match = _HEX.match((colour or "").strip()) or _HEX.match(fallback)
    value = match.group(1)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _shade(rgb: tuple[int, int, int], factor: float) -> str:
    """The colour darkened (factor < 1) or lightened towards white (factor > 1), as hex."""
    if factor <= 1:
        parts = [round(c * factor) for c in rgb]
    else:
        parts = [round(c + (255 - c) * (factor - 1)) for c in rgb]
    return "#" + "".join(f"{max(0, min(255, p)):02x}" for p in parts)


def theme_css(config) -> str:
    """The brand's colours as CSS custom properties over Bootstrap's (``SHOP_BRAND_COLOR``,
    ``SHOP_ACCENT_COLOR``): served as a stylesheet because the Content-Security-Policy
    allows no inline style. The link colour is the brand colour darkened to 75 % so that
    links on the light card headers keep a contrast above WCAG's 4.5:1 for any brand
    colour of middle lightness."""
    brand = _rgb(config.get("SHOP_BRAND_COLOR", ""), "#0b4f6c")
    accent = _rgb(config.get("SHOP_ACCENT_COLOR", ""), "#f4a259")
    brand_hex, accent_hex = _shade(brand, 1), _shade(accent, 1)
    link, hover = _shade(brand, 0.75), _shade(brand, 0.55)
    r, g, b = brand
    return (
        ":root {\n"
        f"  --shop-brand: {brand_hex}; --shop-brand-rgb: {r}, {g}, {b};\n"
        f"  --shop-brand-dark: {hover}; --shop-brand-soft: {_shade(brand, 1.9)};\n"
        f"  --shop-accent: {accent_hex}; --shop-accent-soft: {_shade(accent, 1.75)};\n"
        f"  --bs-primary: {brand_hex}; --bs-primary-rgb: {r}, {g}, {b};\n"
        f"  --bs-link-color: {link}; --bs-link-color-rgb: {', '.join(str(int(link[i : i + 2], 16)) for i in (1, 3, 5))};\n"
        f"  --bs-link-hover-color: {hover};\n"
        "}\n"
        ".btn-primary { --bs-btn-bg: var(--shop-brand); --bs-btn-border-color: var(--shop-brand);"
        " --bs-btn-hover-bg: var(--shop-brand-dark); --bs-btn-hover-border-color: var(--shop-brand-dark);"
        " --bs-btn-active-bg: var(--shop-brand-dark); --bs-btn-disabled-bg: var(--shop-brand);"
        " --bs-btn-disabled-border-color: var(--shop-brand); }\n"
        ".btn-outline-primary { --bs-btn-color: var(--bs-link-color); --bs-btn-border-color: var(--shop-brand);"
        " --bs-btn-hover-bg: var(--shop-brand); --bs-btn-hover-border-color: var(--shop-brand);"
        " --bs-btn-active-bg: var(--shop-brand-dark); }\n"
    )


def _theme_view() -> Response:
    """GET /theme.css: :func:`theme_css` for this shop's settings."""
    resp = Response(theme_css(current_app.config), mimetype="text/css")
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


def logo_url() -> str:
    """The logo's address: ``SHOP_LOGO`` under static/, or as given when absolute; ``""``
    for a word mark only."""
    logo = (current_app.config.get("SHOP_LOGO") or "").strip()
    if not logo or logo.startswith(("http://", "https://", "/")):
        return logo
    return url_for("static", filename=logo)


def product_image_src(sku: str, url: str, size: int = 320) -> str:
    """The picture to show for a product: the shop's own thumbnail when it holds the image
    (``flask shop fetch-images``), else the catalog's URL (made https, as the pages are),
    else the placeholder."""
    local = images.thumbnail_url(sku, size)
    if local:
        return local
    if url and url.startswith("http://"):
        return "https://" + url[len("http://") :]
    return url or url_for("static", filename="img/placeholder.svg")


def init_templating(app: Flask) -> None:
    """Register filters, context globals, Flask-Babel (plurals: ``ngettext`` in Python
    and templates) and the theme stylesheet."""
    babel.init_app(app, default_locale=(app.config.get("SHOP_LOCALE") or "en").split("_")[0])
    app.add_template_filter(display_money, "money")
    app.add_template_filter(format_rate, "rate")
    app.add_template_filter(display_title, "display_title")
    app.add_template_filter(spec_value, "spec_value")
    app.add_template_global(model_adds_to_title, "model_adds_to_title")
    app.add_template_global(breakdown_rows, "price_breakdown")
    app.add_template_global(max_quantity, "max_cart_quantity")
    app.add_template_global(logo_url, "logo_url")
    app.add_template_global(personal, "personal")
    app.add_template_global(product_image_src, "product_image_src")
    app.add_template_test(is_low_stock, "low_stock")
    app.add_template_global(LOW_STOCK_THRESHOLD, "low_stock_threshold")
    app.add_url_rule("/theme.css", endpoint="theme_css", view_func=_theme_view)
    app.add_url_rule(
        "/images/<key>/<int:size>.jpg", endpoint="product_image", view_func=images.serve_thumbnail
    )

    @app.context_processor
    def _globals():
        return {
            "shop_name": app.config["SHOP_NAME"],
            "nav_categories": category_tree_cached,
        }
