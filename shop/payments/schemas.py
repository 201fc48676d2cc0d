"""Refund and payment JSON: the request schema of ``POST /orders/<number>/refunds``, the
response shapes (documentation) and the serializers.

Money is integer minor units of ``currency``. The order nested in a refund answer is the
staff view of ``shop.orders.schemas.order_json`` (named here, not imported: that module
imports these serializers for the order's own ``payments`` and ``refunds``).
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shop.addresses.schemas import StrictBoolean
from shop.apidoc import NO_NUL, SettingRange
from shop.catalog.schemas import LinksSchema, MetaSchema
from shop.payments.models import PAYMENT_STATUSES, REFUND_STATUSES

#: The largest extra amount one refund may carry (a million in the currency's units).
MAX_EXTRA_CENTS = 100_000_000

# --- Request body ----------------------------------------------------------------------------


class RefundLineBodySchema(Schema):
    """One order line to refund, named by ``sku`` or by ``line_id`` (exactly one of them)."""

    sku = fields.String(
        validate=[validate.Length(min=1, max=64), NO_NUL],
        metadata={"description": "The line's SKU. Give this or line_id, not both (422)."},
    )
    line_id = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=2_147_483_647),
        metadata={"description": "The order line's id (`lines[].id` of the order)."},
    )
    quantity = fields.Integer(
        required=True,
        strict=True,
        validate=SettingRange(1, "MAX_CART_QUANTITY"),
        metadata={"description": "Units to refund; at most what is left of the line (else 409)."},
    )

    @validates_schema
    def _one_name(self, data, **kwargs):
        """A line is named by its SKU or its id, never both or neither."""
        if ("sku" in data) == ("line_id" in data):
            raise ValidationError("Give the line's sku or its line_id (one of them).", "sku")


class RefundCreateSchema(Schema):
    """``POST /orders/<number>/refunds`` (staff): units of lines and/or an amount to give back.

    A line gives back what the shopper paid for those units (its price less its share of the
    discount, plus its tax when added on top), rounded half-up to the cent; ``extra_cents``
    is added on top (e.g. shipping) or is the whole refund. Something must be refunded: a
    line or a positive ``extra_cents`` (422 otherwise).
    """

    lines = fields.List(
        fields.Nested(RefundLineBodySchema),
        load_default=list,
        validate=validate.Length(max=200),
        metadata={"description": "Lines to refund; repeats of one line add up."},
    )
    extra_cents = fields.Integer(
        load_default=0,
        strict=True,
        validate=validate.Range(min=0, max=MAX_EXTRA_CENTS),
        metadata={"description": "Cents on top of the lines (shipping, a goodwill amount), or alone."},
    )
    restock = StrictBoolean(
        load_default=False,
        metadata={"description": "Put the refunded units back in stock when the refund succeeds."},
    )
    reason = fields.String(load_default="", validate=[validate.Length(max=2000), NO_NUL])

    @validates_schema
    def _something(self, data, **kwargs):
        """A refund gives something back."""
        if not data.get("lines") and not data.get("extra_cents"):
            raise ValidationError("Give at least one line or a positive extra_cents.", "lines")


# --- Serializers ------------------------------------------------------------------------------


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def refund_json(refund) -> dict:
    """Plain data of a refund: ``lines`` as refunded (``[{line_id, sku, quantity,
    amount_cents}]``), ``extra_cents`` the part not for lines; cents of ``currency``."""
    lines = [dict(item) for item in refund.lines or []]
    return {
        "id": refund.id,
        "amount_cents": refund.amount_cents,
        "currency": refund.currency,
        "status": refund.status,
        "lines": lines,
        "extra_cents": refund.amount_cents - sum(int(item["amount_cents"]) for item in lines),
        "restock": refund.restock,
        "reason": refund.reason,
        "provider_reference": refund.provider_reference,
        "actor_id": refund.actor_id,
        "created_at": _iso(refund.created_at),
        "updated_at": _iso(refund.updated_at),
    }


def payment_json(payment) -> dict:
    """Plain data of a payment attempt (staff only: it carries the provider's references)."""
    return {
        "id": payment.id,
        "provider": payment.provider,
        "reference": payment.reference,
        "provider_payment": payment.provider_payment,
        "amount_cents": payment.amount_cents,
        "currency": payment.currency,
        "status": payment.status,
        "created_at": _iso(payment.created_at),
    }


# --- Response shapes (documentation) -----------------------------------------------------------


class RefundLineSchema(Schema):
    """A refunded line."""

    line_id = fields.Integer()
    sku = fields.String()
    quantity = fields.Integer()
    amount_cents = fields.Integer(metadata={"description": "What these units cost the shopper."})


class RefundSchema(Schema):
    """A refund: ``pending`` (a card refund waiting for Stripe), ``succeeded`` or ``failed``
    (refused by the provider; it no longer counts against what is left to refund)."""

    id = fields.Integer()
    amount_cents = fields.Integer(metadata={"description": "The whole refund, lines and extra."})
    currency = fields.String()
    status = fields.String(validate=validate.OneOf(REFUND_STATUSES))
    lines = fields.List(fields.Nested(RefundLineSchema))
    extra_cents = fields.Integer(metadata={"description": "The part not for lines (e.g. shipping)."})
    restock = fields.Boolean()
    reason = fields.String()
    provider_reference = fields.String(metadata={"description": "Stripe's refund id, once sent."})
    actor_id = fields.Integer(allow_none=True, metadata={"description": "The staff member who refunded."})
    created_at = fields.String()
    updated_at = fields.String()


class PaymentSchema(Schema):
    """A payment attempt."""

    id = fields.Integer()
    provider = fields.String()
    reference = fields.String(metadata={"description": "E.g. the Stripe Checkout Session id."})
    provider_payment = fields.String(metadata={"description": "E.g. the Stripe PaymentIntent id."})
    amount_cents = fields.Integer()
    currency = fields.String()
    status = fields.String(validate=validate.OneOf(PAYMENT_STATUSES))
    created_at = fields.String()


class RefundWithOrderSchema(RefundSchema):
    """A new refund and the order as it is now (staff view)."""

    order = fields.Nested("OrderSchema")


class RefundEnvelopeSchema(Schema):
    """``{"data": refund}`` with the order."""

    data = fields.Nested(RefundWithOrderSchema)


class RefundCollectionSchema(Schema):
    """``{"data": [refund], "meta": {...}, "links": {...}}``."""

    data = fields.List(fields.Nested(RefundSchema))
    meta = fields.Nested(MetaSchema)
    links = fields.Nested(LinksSchema)
