"""Search JSON API."""

from shop.search import api_bp


@api_bp.route("/search/suggest")
def suggest():
    """Autocomplete (placeholder)."""
    return {"data": {"products": [], "categories": [], "brands": []}}
