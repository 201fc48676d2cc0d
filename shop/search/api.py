"""Search JSON API: ranked products with facets, and autocomplete suggestions.

Both endpoints are public. Query strings are validated by the schemas in
``shop.search.schemas`` (422 with field errors), which also document them.
"""

from __future__ import annotations

from flask import jsonify, url_for

from shop.apiutils import collection
from shop.catalog.schemas import FIRST_PRODUCT_LINKS, category_json, product_json
from shop.search import api_bp
from shop.search.params import PAGE_SIZE, SearchParams
from shop.search.schemas import (
    SearchCollectionSchema,
    SearchQuerySchema,
    SuggestEnvelopeSchema,
    SuggestQuerySchema,
    band_for_range,
)
from shop.search.services import search as run_search
from shop.search.suggest import suggest as run_suggest


@api_bp.get("/search")
@api_bp.arguments(SearchQuerySchema, location="query", as_kwargs=True)
@api_bp.response(200, SearchCollectionSchema)
@api_bp.doc(responses={200: {"links": FIRST_PRODUCT_LINKS}})
def search(
    q="",
    category=None,
    brand=None,
    price=None,
    min_price=None,
    max_price=None,
    in_stock=False,
    sort="relevance",
    page=1,
    per_page=PAGE_SIZE,
    literal=False,
):
    """Active products matching ``q``, best first, with facet counts in ``meta.facets``.

    Filters: ``category`` (slug), ``brand`` (repeatable), a price band (``price`` key, or
    ``min_price``/``max_price`` in cents giving its bounds) and ``in_stock``. ``sort`` is one of
    relevance, price_asc, price_desc, newest. ``meta.did_you_mean`` carries a corrected
    query when the engine made one, and ``meta.corrected`` is true when the results are
    that corrected query's (``literal=true`` searches the words as typed); with no results, ``meta.closest_categories`` lists
    categories to try.
    """
    params = SearchParams(
        q=q,
        category=category or None,
        brand=list(brand or []),
        price=price or band_for_range(min_price, max_price),
        in_stock=bool(in_stock),
        sort=sort,
        page=page,
        per_page=per_page,
        literal=bool(literal),
    )
    result = run_search(params, with_facets=True)
    extra = {
        "facets": result.facets,
        "did_you_mean": result.did_you_mean,
        "corrected": result.corrected,
        "relaxed": result.relaxed,
        "required_words": result.required_words,
        "closest_categories": result.closest_categories,
    }
    keep = {"brand": list(brand)} if brand else {}  # repeated brands survive in the links
    # Already in the documented shape (``SearchCollectionSchema``, which the API's schema
    # tests check answers against): sent as built, not dumped through marshmallow again.
    return jsonify(
        collection(
            [product_json(p) for p in result.products], page, per_page, result.total, extra_meta=extra, **keep
        )
    )


@api_bp.get("/search/suggest")
@api_bp.arguments(SuggestQuerySchema, location="query", as_kwargs=True)
@api_bp.response(200, SuggestEnvelopeSchema)
def suggest(q="", limit=6):
    """Autocomplete: products, categories and brands matching the typed prefix.

    Each suggestion carries the ``url`` to go to: the product page, the category page, or
    the search filtered by the brand. An empty prefix suggests nothing.
    """
    found = run_suggest(q.strip(), limit)
    categories = [
        {**category_json(c), "url": url_for("catalog.category", slug=c.slug)}
        for c in found.get("categories", [])
    ]
    brands = [{"name": b, "url": url_for("search.results", brand=b)} for b in found.get("brands", [])]
    return {
        "data": {
            "products": [product_json(p) for p in found.get("products", [])],
            "categories": categories,
            "brands": brands,
        }
    }
