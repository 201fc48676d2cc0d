"""Catalog: categories and products, for shoppers (pages) and scripts (API)."""

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

bp = Blueprint("catalog", __name__)
api_bp = ApiBlueprint("catalog_api", __name__, description="Categories and products")
