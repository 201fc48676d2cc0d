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
from shop.apidoc import NO_NUL, NOT_BLANK, QuerySchema, SettingChoice, SettingRange
from shop.catalog.schemas import LinksSchema, MetaSchema, ProductSchema, product_json
from shop.orders.models import ORDER_STATUSES
from shop.orders.services import describe_event, status_label
from shop.payments import providers
from shop.payments.refund_figures import order_payments, order_refunds
from shop.payments.schemas import PaymentSchema, RefundSchema, payment_json, refund_json
from shop.pricing.schemas import BreakdownSchema, breakdown_json, country_field

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
        validate=SettingChoice("PAYMENT_PROVIDERS", providers.enabled_names),
        metadata={"description": "One of the enabled providers (PAYMENT_PROVIDERS); default: the first."},
    )
    expected_total_cents = fields.Integer(
        strict=True,
        validate=validate.Range(min=0),
        metadata={"description": "If given, the order is refused (409) when the total differs."},
    )
    shipping_method = fields.Integer(
        strict=True,
        validate=validate.Range(min=1),
        metadata={
            "description": "A shipping method id (`GET /shipping-methods?country=`); default: the cheapest "
            "that serves the address. 409 when it cannot ship this order there."
        },
    )
    discount_code = fields.String(
        validate=[validate.Length(max=40), NO_NUL],
        metadata={
            "description": "A discount code; default: the cart's (`PUT /cart/discount-code`). "
            "409 when it does not apply (expired, used up, below its minimum, ...)."
        },
    )


class CartQuerySchema(QuerySchema):
    """``GET /cart``: the address and method the cart's totals are estimated for."""

    country = country_field()
    region = fields.String(
        load_default="",
        validate=validate.Length(max=100),
        metadata={"description": "For a regional tax rate."},
    )
    shipping_method = fields.Integer(
        validate=validate.Range(min=1),
        metadata={"description": "Default: the cheapest that serves the country."},
    )


class DiscountCodeBodySchema(Schema):
    """``PUT /cart/discount-code``: the code to keep on the cart."""

    code = fields.String(required=True, validate=[validate.Length(min=1, max=40), NOT_BLANK])


class TransitionSchema(Schema):
    """``POST /orders/<number>/transitions`` (staff): move the order to ``to``; a move to
    ``shipped`` needs ``carrier`` and ``tracking_number`` (422 without them)."""

    to = fields.String(required=True, validate=validate.OneOf(ORDER_STATUSES))
    note = fields.String(load_default="", validate=[validate.Length(max=2000), NO_NUL])
    carrier = fields.String(
        load_default="",
        validate=[validate.Length(max=50), NO_NUL],
        metadata={"description": "The parcel's carrier; required when `to` is `shipped`, ignored otherwise."},
    )
    tracking_number = fields.String(
        load_default="",
        validate=[validate.Length(max=100), NO_NUL],
        metadata={
            "description": "The carrier's tracking number; required when `to` is `shipped`, ignored otherwise."
        },
    )


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


def cart_json(view, breakdown=None, discount_code: str | None = None) -> dict:
    """Plain data of a reviewed cart (:class:`shop.orders.cart.CartView`); money in cents.

    ``breakdown`` (a :class:`shop.pricing.totals.Breakdown`) becomes ``totals``;
    ``discount_code`` is the code kept on the cart."""
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
        "discount_code": discount_code,
        "totals": breakdown_json(breakdown) if breakdown is not None else None,
    }


def order_json(order, staff: bool = False) -> dict:
    """Plain data of an order; ``staff`` adds who did each event, notes, the e-mail, and the
    order's ``payments`` and ``refunds`` (``shop.payments.schemas``).

    Money in cents of ``currency``, rates in basis points. The breakdown is the one the
    shopper confirmed: ``total_cents = subtotal_cents - discount_cents + shipping_cents``,
    plus ``tax_cents`` unless ``prices_include_tax`` (then the tax is part of the prices).
    ``tax_cents`` includes ``shipping_tax_cents``. An order placed before discounts, tax and
    shipping methods has 0, "" and false there.
    """
    data = {
        "number": order.number,
        "status": order.status,
        "status_label": status_label(order.status),
        "subtotal_cents": order.subtotal_cents,
        "discount_cents": order.discount_cents,
        "discount_code": order.discount_code,
        "shipping_cents": order.shipping_cents,
        "shipping_method": order.shipping_method_name,
        "tax_cents": order.tax_cents,
        "shipping_tax_cents": order.shipping_tax_cents,
        "tax_name": order.tax_name,
        "tax_rate_bp": order.tax_rate_bp,
        "prices_include_tax": order.prices_include_tax,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "lines": [
            {
                "id": ln.id,
                "sku": ln.sku,
                "name": ln.name,
                "unit_price_cents": ln.unit_price_cents,
                "quantity": ln.quantity,
                "line_total_cents": ln.line_total_cents,
                "discount_cents": ln.discount_cents,
                "tax_cents": ln.tax_cents,
                "tax_rate_bp": ln.tax_rate_bp,
            }
            for ln in order.lines
        ],
        "shipping_address": dict(order.shipping_address or {}),
        "payment_provider": order.payment_provider,
        "created_at": _iso(order.created_at),
        "carrier": order.carrier or "",
        "tracking_number": order.tracking_number or "",
        "shipped_at": _iso(order.shipped_at),
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
            {
                "email": order.email,
                "user_id": order.user_id,
                "payment_reference": order.payment_reference,
                "payments": [payment_json(p) for p in order_payments(order.id)],
                "refunds": [refund_json(r) for r in order_refunds(order.id)],
            }
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
    discount_code = fields.String(allow_none=True, metadata={"description": "The code kept on the cart."})
    totals = fields.Nested(
        BreakdownSchema,
        allow_none=True,
        metadata={"description": "Discount, shipping, tax and total for the query's country (an estimate)."},
    )


class CartEnvelopeSchema(Schema):
    """``{"data": cart}``."""

    data = fields.Nested(CartSchema)


class OrderLineSchema(Schema):
    """An order line: SKU, name and unit price as bought."""

    id = fields.Integer(metadata={"description": "The line's id (e.g. `line_id` of a refund)."})
    sku = fields.String()
    name = fields.String()
    unit_price_cents = fields.Integer()
    quantity = fields.Integer()
    line_total_cents = fields.Integer(metadata={"description": "Unit price times quantity, before discount."})
    discount_cents = fields.Integer(metadata={"description": "The line's share of the order's discount."})
    tax_cents = fields.Integer(metadata={"description": "Tax on the line after its discount."})
    tax_rate_bp = fields.Integer(
        metadata={"description": "The line's tax rate in basis points (2000 = 20%)."}
    )


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
    subtotal_cents = fields.Integer(metadata={"description": "The lines' total before discount."})
    discount_cents = fields.Integer(metadata={"description": "Taken off by the discount code (0: none)."})
    discount_code = fields.String(metadata={"description": "The discount code used, or empty."})
    shipping_cents = fields.Integer()
    shipping_method = fields.String(metadata={"description": "The shipping method's name, or empty."})
    tax_cents = fields.Integer(metadata={"description": "All tax, shipping's included."})
    shipping_tax_cents = fields.Integer(metadata={"description": "The part of tax_cents on shipping."})
    tax_name = fields.String(metadata={"description": "E.g. VAT or Sales tax; empty when no tax applied."})
    tax_rate_bp = fields.Integer(metadata={"description": "Tax rate in basis points (2000 = 20%)."})
    prices_include_tax = fields.Boolean(
        metadata={
            "description": "True: the tax is inside the prices (shown, not added); false: "
            "total = subtotal - discount + shipping + tax."
        }
    )
    total_cents = fields.Integer()
    currency = fields.String()
    lines = fields.List(fields.Nested(OrderLineSchema))
    shipping_address = fields.Nested(AddressSchema)
    payment_provider = fields.String()
    created_at = fields.String()
    carrier = fields.String(metadata={"description": "Who carries the parcel; empty until shipped."})
    tracking_number = fields.String(
        metadata={"description": "The carrier's tracking number; empty until shipped."}
    )
    shipped_at = fields.String(
        allow_none=True, metadata={"description": "When it was marked shipped, or null."}
    )
    events = fields.List(fields.Nested(OrderEventSchema))
    email = fields.String(metadata={"description": "Staff view only."})
    user_id = fields.Integer(allow_none=True, metadata={"description": "Staff view only."})
    payment_reference = fields.String(metadata={"description": "Staff view only."})
    payments = fields.List(fields.Nested(PaymentSchema), metadata={"description": "Staff view only."})
    refunds = fields.List(fields.Nested(RefundSchema), metadata={"description": "Staff view only."})


class OrderEnvelopeSchema(Schema):
    """``{"data": order}``."""

    data = fields.Nested(OrderSchema)


class OrderCollectionSchema(Schema):
    """``{"data": [order], "meta": {...}, "links": {...}}``."""

    data = fields.List(fields.Nested(OrderSchema))
    meta = fields.Nested(MetaSchema)
    links = fields.Nested(LinksSchema)
