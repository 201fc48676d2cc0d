"""Catalog JSON API: the category tree, product listings and product edits by staff.

Query strings and bodies are validated by the marshmallow schemas in
``shop.catalog.schemas`` (422 with field errors), which also document the endpoints in the
OpenAPI document. Reads are cached under the catalog version; a committed edit bumps it,
so the next GET shows the change.
"""

from __future__ import annotations

from flask import Response, current_app, g, request
from werkzeug.http import generate_etag

from shop.apidoc import path_parameter
from shop.apiutils import collection
from shop.auth.guards import api_auth
from shop.cache import cached_catalog, cached_response, collecting_response, keep_response
from shop.catalog import api_bp
from shop.catalog.schemas import (
    FIRST_PRODUCT_LINKS,
    CategoryTreeSchema,
    ProductCollectionSchema,
    ProductEnvelopeSchema,
    ProductPatchSchema,
    ProductQuerySchema,
    product_json,
)
from shop.catalog.services import (
    ProductFilters,
    category_info,
    category_tree_cached,
    list_products_cached,
    patch_product,
    product_detail_data,
)
from shop.exceptions import NotFound
from shop.front_cache import serve_public_entry
from shop.http_caching import public_request
from shop.transaction import unit_of_work

#: Reads whose whole answer is cached for visitors without a session (keyed by URL): a
#: hit skips argument parsing, the view and serialization.
WHOLE_ANSWERS = frozenset({"catalog_api.categories", "catalog_api.products", "catalog_api.product"})


def _answer_key() -> tuple:
    return ("json", request.full_path)


@api_bp.before_request
def answer_from_cache():
    """Answer a public catalog read from the cache when a current copy is there."""
    if request.endpoint in WHOLE_ANSWERS and public_request():
        entry = cached_response(_answer_key())
        if isinstance(entry, tuple):
            body, etag = entry
            _serve_from_front()
            response = Response(body, mimetype="application/json")
            response.set_etag(etag)  # the ETag shop.http_caching would compute from the body
            return response
    return None


@api_bp.after_request
def keep_answer(response: Response) -> Response:
    """Keep a public catalog read's answer (after a miss), valid as long as what it shows:
    ``(body bytes, etag)``, the shape :mod:`shop.front_cache` answers from."""
    if (
        request.endpoint in WHOLE_ANSWERS
        and response.status_code == 200
        and collecting_response()  # not after a hit
        and response.mimetype == "application/json"
        and public_request()
    ):
        body = response.get_data()
        keep_response(_answer_key(), (body, generate_etag(body)))
        _serve_from_front()
    return response


def _serve_from_front() -> None:
    """Let the front cache answer the next request for this URL from the same entry, when
    no rate limit has to count it: with limits on (``RATELIMIT_ENABLED``), every API request
    is counted (``shop.auth.throttle``), which only Flask-Limiter in Flask does."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        serve_public_entry(_answer_key())


_SLUG = path_parameter("slug", "The product's slug.", type="string", minLength=1, maxLength=255)


def _strip_ids(node: dict) -> dict:
    """A tree node without database ids (the API names categories by slug)."""
    out = {k: v for k, v in node.items() if k not in ("id", "children")}
    if "children" in node:
        out["children"] = [_strip_ids(c) for c in node["children"]]
    return out


@api_bp.get("/categories")
@api_bp.response(200, CategoryTreeSchema)
def categories():
    """The category tree: top-level categories with their leaves and active product counts."""
    return {"data": [_strip_ids(top) for top in category_tree_cached()]}


@api_bp.get("/products")
@api_bp.arguments(ProductQuerySchema, location="query", as_kwargs=True)
@api_bp.response(200, ProductCollectionSchema)
@api_bp.doc(
    responses={200: {"links": FIRST_PRODUCT_LINKS}, 404: {"description": "No category with this slug."}}
)
def products(category=None, brand=None, min_price=None, max_price=None, sort="name", page=1, per_page=24):
    """Active products, filtered and sorted; prices are integer cents of the shop currency.

    ``category`` is a slug (a top-level category includes its leaves; an unknown one is a
    404, like any reference to something missing); ``sort`` is one of name, price_asc,
    price_desc, newest; ``min_price`` must not be more than ``max_price`` (422).
    """
    category_ids = None
    if category:
        info = cached_catalog(("category-ids", category), lambda: _category_ids(category))
        if not info:
            raise NotFound(f"No category '{category}'.", {"category": ["No such category."]})
        category_ids = tuple(info)
    filters = ProductFilters(
        category_ids=category_ids,
        brand=brand or None,
        min_price=min_price,
        max_price=max_price,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    result = list_products_cached(filters)
    return collection(result["items"], page, per_page, result["total"])


def _category_ids(slug: str) -> list[int]:
    """Ids a category filter covers ([] when the slug is unknown)."""
    try:
        return category_info(slug)["ids"]
    except NotFound:
        return []


@api_bp.get("/products/<slug>")
@api_bp.response(200, ProductEnvelopeSchema)
@api_bp.doc(
    parameters=[_SLUG],
    responses={
        200: {
            "links": {
                "EditProduct": {
                    "operationId": "catalog_api.update",
                    "parameters": {"slug": "$response.body#/data/slug"},
                },
                "AddToCart": {
                    "operationId": "orders_api.cart_item_add",
                    "requestBody": {"sku": "$response.body#/data/sku", "quantity": 1},
                },
            }
        },
        404: {"description": "No such active product."},
    },
)
def product(slug: str):
    """One active product with its details (description, attributes, model, EAN)."""
    return {"data": product_detail_data(slug)}


@api_bp.patch("/products/<slug>")
@api_auth(scope="catalog-write", role="staff")  # outermost: 401/403 before body validation
@api_bp.arguments(ProductPatchSchema)
@api_bp.response(200, ProductEnvelopeSchema)
@api_bp.alt_response(403, description="Not staff, or the token lacks the catalog-write scope.")
@api_bp.alt_response(404, description="No such product, or no such category.")
@api_bp.alt_response(409, description="Stale write: the stock is no longer expected_stock.")
@api_bp.doc(security=[{"bearerAuth": []}], parameters=[_SLUG])
def update(data: dict, slug: str):
    """Edit a product (staff). ``stock`` needs ``expected_stock``, the figure you last saw:
    if a sale changed it meanwhile, the edit is refused with 409 and nothing changes.
    Works on products of any status (drafts and archived ones too)."""
    with unit_of_work():
        edited = patch_product(slug, data, g.api_user.id)
        body = product_json(edited, detail=True)
    return {"data": body}
