"""Pricing: shipping methods, tax rates, discount codes and the one totals calculator."""

from flask_smorest import Blueprint as ApiBlueprint

api_bp = ApiBlueprint("pricing_api", __name__, description="Shipping methods")
