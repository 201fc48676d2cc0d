"""Jinja filters and globals."""

from __future__ import annotations

from flask import Flask

from shop.catalog.models import LOW_STOCK_THRESHOLD, is_low_stock
from shop.catalog.services import category_tree_cached
from shop.money import display_money, format_rate
from shop.pricing.display import breakdown_rows


def init_templating(app: Flask) -> None:
    """Register filters and context globals."""
    app.add_template_filter(display_money, "money")
    app.add_template_filter(format_rate, "rate")
    app.add_template_global(breakdown_rows, "price_breakdown")
    app.add_template_test(is_low_stock, "low_stock")
    app.add_template_global(LOW_STOCK_THRESHOLD, "low_stock_threshold")

    @app.context_processor
    def _globals():
        return {
            "shop_name": app.config["SHOP_NAME"],
            "nav_categories": category_tree_cached,
        }
