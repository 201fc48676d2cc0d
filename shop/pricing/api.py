"""Pricing JSON API: ``GET /api/v1/shipping-methods?country=`` (public, like the catalog)."""

from __future__ import annotations

from shop.pricing import api_bp, shipping
from shop.pricing.schemas import (
    ShippingMethodCollectionSchema,
    ShippingMethodsQuerySchema,
    shipping_method_json,
)


@api_bp.get("/shipping-methods")
@api_bp.arguments(ShippingMethodsQuerySchema, location="query")
@api_bp.response(200, ShippingMethodCollectionSchema)
def shipping_method_list(args):
    """The active shipping methods that serve ``country``, in the shop's order. What one
    costs for a cart is in the cart's ``totals`` (``GET /cart?country=``)."""
    methods = shipping.methods_for(args["country"].upper())
    return {"data": [shipping_method_json(m) for m in methods]}
