"""Product search: full-text backends, facets, suggestions."""

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

bp = Blueprint("search", __name__)
api_bp = ApiBlueprint("search_api", __name__, description="Product search")
