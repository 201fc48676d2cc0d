"""Catalog serialization: the one product JSON shape, and marshmallow schemas for the API.

``product_json`` is the single serializer for products; search and orders use it too.
The marshmallow schemas validate query strings and request bodies and describe the
responses in the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

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
            parent should be loaded, e.g. with ``selectinload``, for lists).
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


class ProductQuerySchema(Schema):
    """Query string of ``GET /products``: filters, sort and page."""

    category = fields.String(
        metadata={"description": "Category slug; a top-level category includes its leaves."}
    )
    brand = fields.String(metadata={"description": "Exact brand name."})
    min_price = fields.Integer(
        validate=validate.Range(min=0, max=2**31 - 1), metadata={"description": "Cents, inclusive."}
    )
    max_price = fields.Integer(
        validate=validate.Range(min=0, max=2**31 - 1), metadata={"description": "Cents, inclusive."}
    )
    sort = fields.String(load_default="name", validate=validate.OneOf(list(SORTS)))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=24, validate=validate.Range(min=1, max=100))

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

    name = fields.String(validate=validate.Length(min=1, max=500))
    brand = fields.String(validate=validate.Length(max=120))
    description = fields.String(validate=validate.Length(max=20_000))
    price_cents = fields.Integer(strict=True, validate=validate.Range(min=0, max=100_000_000))
    stock = fields.Integer(strict=True, validate=validate.Range(min=0, max=1_000_000))
    expected_stock = fields.Integer(strict=True, validate=validate.Range(min=0))
    status = fields.String(validate=validate.OneOf(PRODUCT_STATUSES))
    category = fields.String(allow_none=True, metadata={"description": "Category slug, or null."})

    @validates_schema
    def _guarded_stock(self, data, **kwargs):
        """Stock edits must carry expected_stock; an empty body changes nothing."""
        if "stock" in data and "expected_stock" not in data:
            raise ValidationError("Required when stock is given.", "expected_stock")
        if not data:
            raise ValidationError("Give at least one field to change.", "_schema")
