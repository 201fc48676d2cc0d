"""Pricing JSON: the shipping-methods query and list, and the breakdown of a cart or quote."""

from __future__ import annotations

import pycountry
from marshmallow import Schema, fields, validate

from shop.apidoc import QuerySchema
from shop.pricing.models import RATE_KINDS
from shop.pricing.totals import Breakdown

#: Every ISO 3166-1 alpha-2 code, upper and lower case (a query may give either).
COUNTRY_CODES = sorted(
    {c.alpha_2 for c in pycountry.countries} | {c.alpha_2.lower() for c in pycountry.countries}
)


def country_field(required: bool = False) -> fields.String:
    """A query's ISO 3166-1 alpha-2 code, in either case (the caller upper-cases it)."""
    return fields.String(
        required=required,
        validate=validate.OneOf(COUNTRY_CODES, error="Must be an ISO 3166-1 alpha-2 country code, e.g. US."),
        metadata={"description": "ISO 3166-1 alpha-2 code, e.g. `US` (either case)."},
    )


class ShippingMethodsQuerySchema(QuerySchema):
    """``GET /shipping-methods?country=``."""

    country = country_field(required=True)


class ShippingMethodSchema(Schema):
    """A shipping method: how its price is found (cents; bands of cents or grams)."""

    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    rate_kind = fields.String(validate=validate.OneOf(RATE_KINDS))
    price_cents = fields.Integer(metadata={"description": "The price of a `flat` method."})
    bands = fields.List(
        fields.List(fields.Integer()),
        metadata={
            "description": "`[up_to, price_cents]` pairs: up to this subtotal (cents, after discount) "
            "or weight (grams), this price. Beyond the last band the method is not offered."
        },
    )
    free_above_cents = fields.Integer(
        allow_none=True, metadata={"description": "Free from this subtotal on."}
    )
    min_days = fields.Integer()
    max_days = fields.Integer()
    countries = fields.List(fields.String(), metadata={"description": "Served countries; empty: all."})


class ShippingMethodCollectionSchema(Schema):
    """``{"data": [method]}``."""

    data = fields.List(fields.Nested(ShippingMethodSchema))


def shipping_method_json(method) -> dict:
    """Plain data of a :class:`~shop.pricing.models.ShippingMethod`."""
    return {
        "id": method.id,
        "name": method.name,
        "description": method.description,
        "rate_kind": method.rate_kind,
        "price_cents": method.price_cents,
        "bands": [list(map(int, band)) for band in method.bands or []],
        "free_above_cents": method.free_above_cents,
        "min_days": method.min_days,
        "max_days": method.max_days,
        "countries": list(method.countries or []),
    }


class ShippingOptionSchema(Schema):
    """A method that can ship this order to this address, priced for it."""

    method_id = fields.Integer()
    name = fields.String()
    price_cents = fields.Integer()
    min_days = fields.Integer()
    max_days = fields.Integer()


class BreakdownSchema(Schema):
    """What the order costs (cents). ``total = subtotal - discount + shipping`` plus ``tax``
    when ``prices_include_tax`` is false; when true the tax is inside the prices."""

    country = fields.String()
    region = fields.String()
    subtotal_cents = fields.Integer()
    discount_cents = fields.Integer()
    discount_code = fields.String(metadata={"description": "The code that applied; empty if none."})
    discount_refusal = fields.String(
        allow_none=True,
        metadata={"description": "Why the cart's code does not apply (expired, used up, ...)."},
    )
    ships = fields.Boolean(metadata={"description": "False when no shipping method serves the country."})
    shipping_method = fields.Integer(allow_none=True, metadata={"description": "The method priced in."})
    shipping_method_name = fields.String()
    shipping_cents = fields.Integer()
    shipping_options = fields.List(fields.Nested(ShippingOptionSchema))
    tax_name = fields.String()
    tax_rate_bp = fields.Integer(metadata={"description": "Basis points: 2000 is 20 %."})
    tax_cents = fields.Integer(metadata={"description": "All tax, shipping's included."})
    shipping_tax_cents = fields.Integer()
    prices_include_tax = fields.Boolean()
    total_cents = fields.Integer()


def breakdown_json(b: Breakdown) -> dict:
    """Plain data of a :class:`~shop.pricing.totals.Breakdown` (cents)."""
    return {
        "country": b.country,
        "region": b.region,
        "subtotal_cents": b.subtotal_cents,
        "discount_cents": b.discount_cents,
        "discount_code": b.discount_code,
        "discount_refusal": b.discount_refusal,
        "ships": b.ships,
        "shipping_method": b.shipping_method_id,
        "shipping_method_name": b.shipping_method_name,
        "shipping_cents": b.shipping_cents,
        "shipping_options": [
            {
                "method_id": o.method_id,
                "name": o.name,
                "price_cents": o.price_cents,
                "min_days": o.min_days,
                "max_days": o.max_days,
            }
            for o in b.shipping_options
        ],
        "tax_name": b.tax_name,
        "tax_rate_bp": b.tax_rate_bp,
        "tax_cents": b.tax_cents,
        "shipping_tax_cents": b.shipping_tax_cents,
        "prices_include_tax": b.prices_include_tax,
        "total_cents": b.total_cents,
    }
