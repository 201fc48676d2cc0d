"""Cart and order JSON: marshmallow request schemas, response shapes and serializers.

The request schemas validate ``/api/v1/cart*`` and ``/api/v1/orders*`` bodies through
``@api_bp.arguments`` (so the OpenAPI document describes them). The address rules live in
``shop.addresses.validation`` (shared with the checkout form and the address book); their
names are importable from here too.
"""

from __future__ import annotations

from flask import current_app
from marshmallow import Schema, fields, validate

from shop.addresses.validation import (  # noqa: F401  (re-exported for the order modules)
    ADDRESS_RULES,
    COUNTRIES,
    POSTAL_CODE_PATTERN,
    AddressSchema,
    clean_address,
)
from shop.apidoc import NO_NUL, QuerySchema, SettingChoice, SettingRange
from shop.catalog.schemas import LinksSchema, MetaSchema, ProductSchema, product_json
from shop.orders.models import ORDER_STATUSES
from shop.orders.services import describe_event, status_label

# --- Request bodies --------------------------------------------------------------------------


class CartItemCreateSchema(Schema):
    """``POST /cart/items``: add ``quantity`` of ``sku`` (added to an existing line)."""

    sku = fields.String(required=True, validate=[validate.Length(min=1, max=64), NO_NUL])
    quantity = fields.Integer(
        load_default=1,
        strict=True,
        validate=SettingRange(1, "MAX_CART_QUANTITY"),
        metadata={"description": "Added to the line; the line may hold at most the maximum (else 422)."},
    )


class CartItemUpdateSchema(Schema):
    """``PATCH /cart/items/<id>``: the line's new quantity; 0 removes the line (as in the cart page)."""

    quantity = fields.Integer(
        required=True,
        strict=True,
        validate=SettingRange(0, "MAX_CART_QUANTITY"),
        metadata={"description": "The new quantity; 0 removes the line."},
    )


class OrderCreateSchema(Schema):
    """``POST /orders``: place an order from the caller's cart."""

    shipping_address = fields.Nested(AddressSchema, required=True)
    payment_provider = fields.String(
        validate=SettingChoice("PAYMENT_PROVIDERS"),
        metadata={"description": "One of the enabled providers (PAYMENT_PROVIDERS); default: the first."},
    )
    expected_total_cents = fields.Integer(
        strict=True,
        validate=validate.Range(min=0),
        metadata={"description": "If given, the order is refused (409) when the total differs."},
    )


class TransitionSchema(Schema):
    """``POST /orders/<number>/transitions`` (staff): move the order to ``to``."""

    to = fields.String(required=True, validate=validate.OneOf(ORDER_STATUSES))
    note = fields.String(load_default="", validate=[validate.Length(max=2000), NO_NUL])


class CancelSchema(Schema):
    """``POST /orders/<number>/cancel``: an optional reason (an empty body is fine; unknown
    fields are refused, as in every other body)."""

    note = fields.String(load_default="", validate=[validate.Length(max=2000), NO_NUL])


class PageQuerySchema(QuerySchema):
    """``page`` and ``per_page`` of a listing."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=SettingRange(1, "API_MAX_PER_PAGE"))


# --- Serializers ------------------------------------------------------------------------------


def _iso(value) -> str | None:
    """ISO 8601 text of a datetime, or None."""
    return value.isoformat() if value is not None else None


def cart_json(view) -> dict:
    """Plain data of a reviewed cart (:class:`shop.orders.cart.CartView`); money in cents."""
    return {
        "items": [
            {
                "id": line.id,
                "sku": line.product.sku,
                "name": line.product.name,
                "quantity": line.quantity,
                "unit_price_cents": line.unit_price_cents,
                "seen_price_cents": line.seen_price_cents,
                "line_total_cents": line.line_total_cents,
                "available": line.available,
                "notices": list(line.notices),
                "product": product_json(line.product),
            }
            for line in view.lines
        ],
        "notices": list(view.notices),
        "item_count": view.item_count,
        "subtotal_cents": view.subtotal_cents,
        "currency": current_app.config["SHOP_CURRENCY"],
        "can_checkout": view.can_checkout,
    }


def order_json(order, staff: bool = False) -> dict:
    """Plain data of an order; ``staff`` adds who did each event, notes and the e-mail."""
    data = {
        "number": order.number,
        "status": order.status,
        "status_label": status_label(order.status),
        "subtotal_cents": order.subtotal_cents,
        "shipping_cents": order.shipping_cents,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "lines": [
            {
                "sku": ln.sku,
                "name": ln.name,
                "unit_price_cents": ln.unit_price_cents,
                "quantity": ln.quantity,
                "line_total_cents": ln.line_total_cents,
            }
            for ln in order.lines
        ],
        "shipping_address": dict(order.shipping_address or {}),
        "payment_provider": order.payment_provider,
        "created_at": _iso(order.created_at),
        "events": [],
    }
    for ev in order.events:
        item = {
            "from": ev.from_status,
            "to": ev.to_status,
            "at": _iso(ev.created_at),
            "description": describe_event(ev, order),
        }
        if staff:
            item.update({"actor_id": ev.actor_id, "note": ev.note})
        data["events"].append(item)
    if staff:
        data.update(
            {"email": order.email, "user_id": order.user_id, "payment_reference": order.payment_reference}
        )
    return data


# --- Response shapes (documentation) -----------------------------------------------------------


class CartLineSchema(Schema):
    """A cart line."""

    id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    quantity = fields.Integer()
    unit_price_cents = fields.Integer(metadata={"description": "Current price."})
    seen_price_cents = fields.Integer(metadata={"description": "Price when the shopper added it."})
    line_total_cents = fields.Integer()
    available = fields.Boolean()
    notices = fields.List(fields.String())
    product = fields.Nested(ProductSchema)


class CartSchema(Schema):
    """The caller's cart re-checked against current price and stock."""

    items = fields.List(fields.Nested(CartLineSchema))
    notices = fields.List(fields.String())
    item_count = fields.Integer()
    subtotal_cents = fields.Integer()
    currency = fields.String()
    can_checkout = fields.Boolean()


class CartEnvelopeSchema(Schema):
    """``{"data": cart}``."""

    data = fields.Nested(CartSchema)


class OrderLineSchema(Schema):
    """An order line: SKU, name and unit price as bought."""

    sku = fields.String()
    name = fields.String()
    unit_price_cents = fields.Integer()
    quantity = fields.Integer()
    line_total_cents = fields.Integer()


class OrderEventSchema(Schema):
    """A status change."""

    from_ = fields.String(attribute="from", data_key="from", allow_none=True)
    to = fields.String()
    at = fields.String()
    description = fields.String(metadata={"description": "What happened, in plain words."})
    actor_id = fields.Integer(allow_none=True, metadata={"description": "Staff view only."})
    note = fields.String(metadata={"description": "Staff view only."})


class OrderSchema(Schema):
    """An order."""

    number = fields.String()
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))
    status_label = fields.String()
    subtotal_cents = fields.Integer()
    shipping_cents = fields.Integer()
    total_cents = fields.Integer()
    currency = fields.String()
    lines = fields.List(fields.Nested(OrderLineSchema))
    shipping_address = fields.Nested(AddressSchema)
    payment_provider = fields.String()
    created_at = fields.String()
    events = fields.List(fields.Nested(OrderEventSchema))
    email = fields.String(metadata={"description": "Staff view only."})
    user_id = fields.Integer(allow_none=True, metadata={"description": "Staff view only."})
    payment_reference = fields.String(metadata={"description": "Staff view only."})


class OrderEnvelopeSchema(Schema):
    """``{"data": order}``."""

    data = fields.Nested(OrderSchema)


class OrderCollectionSchema(Schema):
    """``{"data": [order], "meta": {...}, "links": {...}}``."""

    data = fields.List(fields.Nested(OrderSchema))
    meta = fields.Nested(MetaSchema)
    links = fields.Nested(LinksSchema)
