"""Jinja filters and globals."""

from __future__ import annotations

from flask import Flask, current_app

from shop.money import format_money


def money(cents: int | None, currency: str | None = None) -> str:
    """Jinja filter: integer cents to a display string in the shop currency."""
    if cents is None:
        return ""
    return format_money(
        int(cents),
        currency or current_app.config["SHOP_CURRENCY"],
        current_app.config["SHOP_LOCALE"],
    )


def init_templating(app: Flask) -> None:
    """Register filters and context globals."""
    app.add_template_filter(money, "money")

    @app.context_processor
    def _globals():
        from shop.catalog.services import category_tree_cached

        return {
            "shop_name": app.config["SHOP_NAME"],
            "nav_categories": category_tree_cached,
        }
