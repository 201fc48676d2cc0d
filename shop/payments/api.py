"""Refunds JSON API (staff): ``POST`` and ``GET /api/v1/orders/<number>/refunds``.

The same scope and role as the staff status change (``orders``, staff). The body is
validated by ``shop.payments.schemas.RefundCreateSchema``; the refund is made by
``shop.payments.refunds`` (as on the admin order page) and, for a card order, sent to
Stripe after the commit: when Stripe fails the answer is 502 and the refund is recorded
as failed, so nothing of what is left to refund is lost.
"""

from __future__ import annotations

from flask import g, url_for

from shop.apidoc import path_parameter
from shop.apiutils import collection, envelope, paginate_select
from shop.auth.guards import api_auth
from shop.orders import services as order_services
from shop.orders.schemas import PageQuerySchema, order_json
from shop.payments import api_bp, refunds
from shop.payments.schemas import (
    RefundCollectionSchema,
    RefundCreateSchema,
    RefundEnvelopeSchema,
    refund_json,
)
from shop.transaction import unit_of_work

_NUMBER = path_parameter("number", "The order number.", type="string", minLength=1, maxLength=32)


@api_bp.post("/orders/<number>/refunds")
@api_auth(scope="orders", role="staff")
@api_bp.arguments(RefundCreateSchema)
@api_bp.response(
    201,
    RefundEnvelopeSchema,
    headers={
        "Location": {"description": "The order's refunds.", "required": True, "schema": {"type": "string"}}
    },
)
@api_bp.doc(
    parameters=[_NUMBER],
    responses={
        409: {
            "description": "The order is not paid (or is already refunded in full), more units of a "
            "line or more money than is left to refund, or no confirmed card payment. Nothing changed."
        },
        404: {"description": "No such order, or a line (by SKU or line_id) that is not the order's."},
        422: {"description": "Invalid fields, or nothing to refund."},
        502: {
            "description": "Stripe refused the card refund or could not be reached; the refund is "
            "recorded as failed and its amount is free to refund again."
        },
    },
)
def refund_create(body, number: str):
    """Staff: refund units of an order's lines and/or an amount, never more than was paid.

    A manual or test order's refund succeeds at once (stock back when ``restock``, the order
    partially refunded or refunded); a card order's is sent to Stripe and stays ``pending``
    until Stripe confirms it. 201 with the refund and the order as it is now.
    """
    order = order_services.get_order_by_number(number)
    lines = refunds.lines_from_request(order, body["lines"])
    with unit_of_work():
        refund = refunds.refund_order(
            order.id,
            lines=lines,
            extra_cents=body["extra_cents"],
            restock=body["restock"],
            actor_id=g.api_user.id,
            reason=body["reason"],
        )
        refund_id, to_stripe = refund.id, refund.status == "pending"
    if to_stripe:
        refunds.submit_refund(refund_id)
    data = refund_json(refunds.get_refund(refund_id))
    data["order"] = order_json(order_services.get_order(order.id), staff=True)
    return envelope(data, 201, {"Location": url_for("payments_api.refund_list", number=number)})


@api_bp.get("/orders/<number>/refunds")
@api_auth(scope="orders", role="staff")
@api_bp.arguments(PageQuerySchema, location="query")
@api_bp.response(200, RefundCollectionSchema)
@api_bp.doc(parameters=[_NUMBER])
def refund_list(args, number: str):
    """Staff: an order's refunds, oldest first, failed ones included."""
    order = order_services.get_order_by_number(number)
    items, total = paginate_select(refunds.refunds_of(order.id), args["page"], args["per_page"], refund_json)
    return collection(items, args["page"], args["per_page"], total, number=number)
