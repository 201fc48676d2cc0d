"""Search serialization: query-string schemas and response shapes for the search API.

The request schemas validate ``GET /search`` and ``GET /search/suggest`` (422 with field
errors) and, with the response schemas, describe both endpoints in the OpenAPI document.
Products use the catalog's one product shape (``shop.catalog.schemas.product_json``).
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shop.apidoc import QuerySchema, SettingRange
from shop.apiutils import PageMetaSchema
from shop.catalog.schemas import CategoryRefSchema, LinksSchema, ProductSchema
from shop.search.facets import PRICE_BANDS
from shop.search.params import (
    MAX_BRAND_LENGTH,
    MAX_BRANDS,
    MAX_CATEGORY_LENGTH,
    MAX_PAGE,
    MAX_QUERY_LENGTH,
    PAGE_SIZE,
    SORTS,
)

#: The bounds ``min_price``/``max_price`` may take: a band's low end; its high end,
#: exclusive or inclusive (see :func:`band_for_range`).
BAND_LOWS = sorted(lo for lo, _ in PRICE_BANDS.values())
BAND_HIGHS = sorted({h for _, hi in PRICE_BANDS.values() if hi is not None for h in (hi - 1, hi)})


def band_for_range(min_price: int | None, max_price: int | None) -> str | None:
    """The price band key whose bounds are ``min_price``..``max_price`` (cents).

    A band ``lo..hi`` (hi exclusive) is selected by ``min_price=lo`` with ``max_price`` equal
    to ``hi`` or ``hi - 1`` (an inclusive bound); the open top band by ``min_price`` alone.

    Raises:
        ValidationError: when the range is given but is not one of the bands.
    """
    if min_price is None and max_price is None:
        return None
    for key, (lo, hi) in PRICE_BANDS.items():
        if (min_price or 0) != lo:
            continue
        if hi is None and max_price is None:
            return key
        if hi is not None and max_price in (hi, hi - 1):
            return key
    bands = ", ".join(f"{lo}..{'' if hi is None else hi - 1}" for lo, hi in PRICE_BANDS.values())
    raise ValidationError(
        f"min_price/max_price must select one price band ({bands}); or use 'price' with a band key.",
        "min_price",
    )


class SearchQuerySchema(QuerySchema):
    """Query string of ``GET /search``: text, filters, sort and page."""

    q = fields.String(
        load_default="",
        validate=validate.Length(max=MAX_QUERY_LENGTH),
        metadata={"description": "What the shopper typed; empty lists every active product."},
    )
    category = fields.String(
        validate=validate.Length(max=MAX_CATEGORY_LENGTH),
        metadata={"description": "Category slug; a top-level category includes its leaves."},
    )
    brand = fields.List(
        fields.String(validate=validate.Length(max=MAX_BRAND_LENGTH)),
        validate=validate.Length(max=MAX_BRANDS),
        metadata={"description": "Exact brand name; repeat for several brands (any of them)."},
    )
    price = fields.String(
        validate=validate.OneOf(list(PRICE_BANDS)),
        metadata={"description": "Price band key (as in meta.facets.price)."},
    )
    min_price = fields.Integer(
        validate=validate.OneOf(BAND_LOWS),
        metadata={
            "description": "Cents: the low end of a price band. With max_price, the pair must be one "
            "band's bounds (max_price its high end, exclusive or inclusive); alone, only the open top "
            "band. Another pair, or a band other than `price`, is 422."
        },
    )
    max_price = fields.Integer(
        validate=validate.OneOf(BAND_HIGHS),
        metadata={
            "description": "Cents: the high end of a price band (see min_price); alone, the lowest band."
        },
    )
    in_stock = fields.Boolean(load_default=False, metadata={"description": "Only products in stock."})
    literal = fields.Boolean(
        load_default=False,
        metadata={"description": "Search the words as typed, without correcting their spelling."},
    )
    sort = fields.String(load_default="relevance", validate=validate.OneOf(list(SORTS)))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=PAGE_SIZE, validate=SettingRange(1, "API_MAX_PER_PAGE"))

    @validates_schema
    def _price_range(self, data, **kwargs):
        """min/max must select a band, and not together with ``price``."""
        lo, hi = data.get("min_price"), data.get("max_price")
        if lo is not None and hi is not None and lo > hi:
            raise ValidationError("Must not be more than max_price.", "min_price")
        band = band_for_range(lo, hi)
        if band and data.get("price") and data["price"] != band:
            raise ValidationError("Give either price or min_price/max_price.", "price")


class SuggestQuerySchema(QuerySchema):
    """Query string of ``GET /search/suggest``."""

    q = fields.String(
        load_default="",
        validate=validate.Length(max=MAX_QUERY_LENGTH),
        metadata={"description": "The prefix typed so far."},
    )
    limit = fields.Integer(
        load_default=6,
        validate=validate.Range(min=1, max=20),
        metadata={"description": "Most suggestions per kind."},
    )


# --- Response schemas --------------------------------------------------------------------


class CategoryFacetSchema(Schema):
    """A category facet entry."""

    slug = fields.String()
    name = fields.String()
    full_name = fields.String()
    count = fields.Integer()
    selected = fields.Boolean()


class BrandFacetSchema(Schema):
    """A brand facet entry."""

    value = fields.String()
    count = fields.Integer()
    selected = fields.Boolean()


class PriceFacetSchema(Schema):
    """A price band facet entry (``key`` is the ``price`` filter value)."""

    key = fields.String()
    label = fields.String()
    count = fields.Integer()
    selected = fields.Boolean()


class InStockFacetSchema(Schema):
    """How many matches are in stock."""

    count = fields.Integer()
    selected = fields.Boolean()


class FacetsSchema(Schema):
    """Facet counts; each counts the matches under every filter except its own."""

    category = fields.List(fields.Nested(CategoryFacetSchema))
    brand = fields.List(fields.Nested(BrandFacetSchema))
    price = fields.List(fields.Nested(PriceFacetSchema))
    in_stock = fields.Nested(InStockFacetSchema)


class SearchMetaSchema(PageMetaSchema):
    """Pagination plus what the search found out about the query."""

    facets = fields.Nested(FacetsSchema)
    did_you_mean = fields.String(allow_none=True, metadata={"description": "A corrected query, if any."})
    corrected = fields.Boolean(
        metadata={
            "description": "True when the results are those of did_you_mean (an unknown word was corrected)."
        }
    )
    relaxed = fields.Boolean(metadata={"description": "True when not every word matched."})
    required_words = fields.List(
        fields.String(),
        metadata={
            "description": "When relaxed: the words every listed product has (those matching every word come first)."
        },
    )
    closest_categories = fields.List(
        fields.Nested(CategoryRefSchema), metadata={"description": "With no results: categories to try."}
    )


class SearchCollectionSchema(Schema):
    """``{"data": [product], "meta": {..., facets}, "links": {...}}``, best match first."""

    data = fields.List(fields.Nested(ProductSchema))
    meta = fields.Nested(SearchMetaSchema)
    links = fields.Nested(LinksSchema)


class SuggestCategorySchema(CategoryRefSchema):
    """A suggested category with its page."""

    url = fields.String()


class SuggestBrandSchema(Schema):
    """A suggested brand with the search filtered by it."""

    name = fields.String()
    url = fields.String()


class SuggestionsSchema(Schema):
    """Products, categories and brands matching the prefix."""

    products = fields.List(fields.Nested(ProductSchema))
    categories = fields.List(fields.Nested(SuggestCategorySchema))
    brands = fields.List(fields.Nested(SuggestBrandSchema))


class SuggestEnvelopeSchema(Schema):
    """``{"data": {products, categories, brands}}``."""

    data = fields.Nested(SuggestionsSchema)
