"""Catalog serialization: the one product JSON shape, and marshmallow schemas for the API.

``product_json`` is the single serializer for products; search and orders use it too.
The marshmallow schemas validate query strings and request bodies and describe the
responses in the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shop.apidoc import NO_NUL, NOT_BLANK, QuerySchema, SettingRange
from shop.apiutils import PageLinksSchema, PageMetaSchema
from shop.catalog.models import PRODUCT_STATUSES

#: Sort keys accepted by listings (pages and API) -> human label.
SORTS = {
    "name": "Name",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
    "newest": "Newest",
}


def category_json(category) -> dict | None:
    """``{slug, name, full_name}`` of a category, or None."""
    if category is None:
        return None
    return {"slug": category.slug, "name": category.name, "full_name": category.full_name}


def _iso(value) -> str | None:
    """ISO 8601 text of a datetime, or None."""
    return value.isoformat() if value is not None else None


def product_json(product, detail: bool = False) -> dict[str, Any]:
    """Plain-data view of a product (the API's product shape).

    Args:
        product: a :class:`shop.catalog.models.Product` (its category and the category's
            parent should be loaded, e.g. with ``selectinload``, for lists), or a search
            result's :class:`shop.search.cards.ProductCard` (not with ``detail``).
        detail: also include description, attributes, model, ean and released_at.
    Returns:
        ``{sku, slug, name, brand, category: {slug, name, full_name} | None, price_cents,
        currency, stock, in_stock, status, image_url, url}`` (+ the detail fields).
        Money is integer cents of ``currency`` (the shop currency).
    """
    data: dict[str, Any] = {
        "sku": product.sku,
        "slug": product.slug,
        "name": product.name,
        "brand": product.brand or "",
        "category": category_json(product.category),
        "price_cents": int(product.price_cents),
        "currency": current_app.config["SHOP_CURRENCY"],
        "stock": int(product.stock),
        "in_stock": product.stock > 0,
        "status": product.status,
        "image_url": product.image_url or "",
        "url": url_for("catalog.product_detail", slug=product.slug),
    }
    if detail:
        data.update(
            {
                "description": product.description or "",
                "attributes": dict(product.attributes or {}),
                "model": product.model or "",
                "ean": product.ean or "",
                "released_at": _iso(product.released_at),
            }
        )
    return data


# --- Response schemas (documentation of the shapes above) -------------------------------


class CategoryRefSchema(Schema):
    """A product's category."""

    slug = fields.String()
    name = fields.String()
    full_name = fields.String(metadata={"description": "'Parent > Leaf'"})


class ProductSchema(Schema):
    """A product as listed (``product_json(p)``)."""

    sku = fields.String()
    slug = fields.String()
    name = fields.String()
    brand = fields.String()
    category = fields.Nested(CategoryRefSchema, allow_none=True)
    price_cents = fields.Integer(metadata={"description": "Price in minor units of `currency`."})
    currency = fields.String(metadata={"description": "ISO 4217 code."})
    stock = fields.Integer()
    in_stock = fields.Boolean()
    status = fields.String(validate=validate.OneOf(PRODUCT_STATUSES))
    image_url = fields.String()
    url = fields.String(metadata={"description": "The product page."})


class ProductDetailSchema(ProductSchema):
    """A product with its details (``product_json(p, detail=True)``)."""

    description = fields.String()
    attributes = fields.Dict(keys=fields.String(), values=fields.Raw())
    model = fields.String()
    ean = fields.String()
    released_at = fields.String(allow_none=True)


class ProductEnvelopeSchema(Schema):
    """``{"data": product}``."""

    data = fields.Nested(ProductDetailSchema)


# Collection metadata and links, shared by every API collection.
MetaSchema = PageMetaSchema
LinksSchema = PageLinksSchema


#: OpenAPI links from a product listing's first product to the operations that take it
#: (for readers, and for the stateful API tests that follow them).
FIRST_PRODUCT_LINKS = {
    "GetFirstProduct": {
        "operationId": "catalog_api.product",
        "parameters": {"slug": "$response.body#/data/0/slug"},
    },
    "AddFirstProductToCart": {
        "operationId": "orders_api.cart_item_add",
        "requestBody": {"sku": "$response.body#/data/0/sku", "quantity": 1},
    },
}


class ProductCollectionSchema(Schema):
    """``{"data": [product], "meta": {...}, "links": {...}}``."""

    data = fields.List(fields.Nested(ProductSchema))
    meta = fields.Nested(MetaSchema)
    links = fields.Nested(LinksSchema)


class CategoryNodeSchema(Schema):
    """A category with its children."""

    slug = fields.String()
    name = fields.String()
    full_name = fields.String()
    product_count = fields.Integer()
    children = fields.List(fields.Nested(lambda: CategoryNodeSchema()))


class CategoryTreeSchema(Schema):
    """``{"data": [top-level category with children]}``."""

    data = fields.List(fields.Nested(CategoryNodeSchema))


# --- Request schemas ---------------------------------------------------------------------


#: Longest category slug and brand name (the columns' lengths).
MAX_SLUG_LENGTH = 120
MAX_BRAND_LENGTH = 120


class ProductQuerySchema(QuerySchema):
    """Query string of ``GET /products``: filters, sort and page."""

    category = fields.String(
        validate=validate.Length(max=MAX_SLUG_LENGTH),
        metadata={"description": "Category slug; a top-level category includes its leaves. Unknown: 404."},
    )
    brand = fields.String(
        validate=validate.Length(max=MAX_BRAND_LENGTH), metadata={"description": "Exact brand name."}
    )
    min_price = fields.Integer(
        validate=validate.Range(min=0, max=2**31 - 1),
        metadata={"description": "Cents, inclusive. Must not be more than max_price (422)."},
    )
    max_price = fields.Integer(
        validate=validate.Range(min=0, max=2**31 - 1),
        metadata={"description": "Cents, inclusive. Must not be less than min_price (422)."},
    )
    sort = fields.String(load_default="name", validate=validate.OneOf(list(SORTS)))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=24, validate=SettingRange(1, "API_MAX_PER_PAGE"))

    @validates_schema
    def _price_range(self, data, **kwargs):
        """min_price must not exceed max_price."""
        lo, hi = data.get("min_price"), data.get("max_price")
        if lo is not None and hi is not None and lo > hi:
            raise ValidationError("Must not be more than max_price.", "min_price")


class ProductPatchSchema(Schema):
    """Body of ``PATCH /products/<slug>``: any subset of the editable fields.

    ``stock`` needs ``expected_stock`` (the figure the client last saw): a compare-and-swap
    guard so a staff edit never silently overwrites a sale.
    """

    #: An empty body changes nothing and is refused (422).
    OPENAPI_KEYWORDS = {"minProperties": 1}

    name = fields.String(validate=[validate.Length(min=1, max=500), NOT_BLANK])
    brand = fields.String(validate=[validate.Length(max=MAX_BRAND_LENGTH), NO_NUL])
    description = fields.String(validate=[validate.Length(max=20_000), NO_NUL])
    price_cents = fields.Integer(strict=True, validate=validate.Range(min=0, max=100_000_000))
    stock = fields.Integer(strict=True, validate=validate.Range(min=0, max=1_000_000))
    expected_stock = fields.Integer(
        strict=True,
        validate=validate.Range(min=0),
        metadata={"description": "Required with stock (422 without): the stock you last saw."},
    )
    status = fields.String(validate=validate.OneOf(PRODUCT_STATUSES))
    category = fields.String(
        allow_none=True,
        validate=[validate.Length(max=MAX_SLUG_LENGTH), NO_NUL],
        metadata={"description": "Category slug, or null for none. Unknown: 404."},
    )

    @validates_schema
    def _guarded_stock(self, data, **kwargs):
        """Stock edits must carry expected_stock; an empty body changes nothing."""
        if "stock" in data and "expected_stock" not in data:
            raise ValidationError("Required when stock is given.", "expected_stock")
        if not data:
            raise ValidationError("Give at least one field to change.", "_schema")
