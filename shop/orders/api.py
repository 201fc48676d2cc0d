"""Cart and orders JSON API (``/api/v1/cart*``, ``/api/v1/orders*``).

Every endpoint needs a caller with the ``orders`` scope; a caller only ever sees their own
cart lines and orders (anyone else's are 404). Bodies are validated by the marshmallow
schemas in ``orders/schemas.py``; domain errors become problem+json via ``shop.errors``.
"""

from __future__ import annotations

from flask import current_app, g, request, url_for

from shop.apidoc import path_parameter
from shop.apiutils import collection, envelope, paginate_select
from shop.auth.guards import api_auth
from shop.exceptions import NotFound
from shop.orders import api_bp, checkout, idempotency, notifications, quotes, services
from shop.orders import cart as carts
from shop.orders.schemas import (
    CancelSchema,
    CartEnvelopeSchema,
    CartItemCreateSchema,
    CartItemUpdateSchema,
    CartQuerySchema,
    DiscountCodeBodySchema,
    OrderCollectionSchema,
    OrderCreateSchema,
    OrderEnvelopeSchema,
    PageQuerySchema,
    TransitionSchema,
    cart_json,
    order_json,
)
from shop.pricing.discounts import Customer
from shop.transaction import unit_of_work

# 401/403/404/422 and the other refusals every operation shares are documented by
# shop.apidoc.ApiConventions; only the operation-specific ones are listed here.
_OUT_OF_STOCK = {409: {"description": "Not enough stock for the line's new quantity."}}
_NUMBER = path_parameter("number", "The order number.", type="string", minLength=1, maxLength=32)
#: Links for readers and the stateful tests: from a cart with a line just added to changing
#: or removing a line, and to placing an order.
_CART_LINKS = {
    "UpdateFirstLine": {
        "operationId": "orders_api.cart_item_update",
        "parameters": {"item_id": "$response.body#/data/items/0/id"},
    },
    "RemoveFirstLine": {
        "operationId": "orders_api.cart_item_delete",
        "parameters": {"item_id": "$response.body#/data/items/0/id"},
    },
    "PlaceOrder": {"operationId": "orders_api.order_create"},
}
#: From an order to reading, cancelling and (staff) moving it on.
_ORDER_LINKS = {
    "GetOrder": {
        "operationId": "orders_api.order_get",
        "parameters": {"number": "$response.body#/data/number"},
    },
    "CancelOrder": {
        "operationId": "orders_api.order_cancel",
        "parameters": {"number": "$response.body#/data/number"},
    },
    "MoveOrder": {
        "operationId": "orders_api.order_transition",
        "parameters": {"number": "$response.body#/data/number"},
    },
}


def _cart_response(status: int = 200, where: dict | None = None):
    """The caller's cart, re-checked without changing it, with its totals for ``where``
    (``{country, region, shipping_method}``; default: the shop's country)."""
    where = where or {}
    cart = carts.get_user_cart(g.api_user.id)
    view = carts.review_cart(cart, acknowledge=False)
    code = cart.discount_code if cart is not None else None
    breakdown = quotes.quote(
        view,
        country=where.get("country") or current_app.config["SHOP_COUNTRY"],
        region=where.get("region", ""),
        shipping_method_id=where.get("shipping_method"),
        code=code,
        customer=Customer(g.api_user.id, g.api_user.email),
    )
    return envelope(cart_json(view, breakdown, code), status)


def _caller_cart():
    """The caller's cart for changing a line.

    Raises:
        NotFound: the caller has no cart, so the line cannot be theirs.
    """
    cart = carts.get_user_cart(g.api_user.id)
    if cart is None:
        raise NotFound("That item is no longer in your cart.")
    return cart


@api_bp.get("/cart")
@api_auth(scope="orders")
@api_bp.arguments(CartQuerySchema, location="query")
@api_bp.response(200, CartEnvelopeSchema)
def cart_get(args):
    """The caller's cart, each line checked against current price and stock (notices), with
    its totals (discount, shipping, tax) estimated for ``country``/``region``/``shipping_method``."""
    return _cart_response(where={**args, "country": (args.get("country") or "").upper()})


@api_bp.put("/cart/discount-code")
@api_auth(scope="orders")
@api_bp.arguments(DiscountCodeBodySchema)
@api_bp.response(200, CartEnvelopeSchema)
@api_bp.doc(
    responses={
        404: {"description": "No such discount code."},
        409: {
            "description": "The code does not apply to this cart now (expired, used up, below its minimum, ...)."
        },
    }
)
def cart_discount_code_put(body):
    """Keep a discount code on the caller's cart if it applies to it now; 404 for an unknown
    code, 409 saying why one does not apply (expired, used up, below the minimum subtotal,
    not for these products)."""
    with unit_of_work():
        cart = carts.get_user_cart(g.api_user.id, create=True)
        view = carts.review_cart(cart, acknowledge=False)
        quotes.apply_discount_code(
            cart,
            view,
            body["code"],
            Customer(g.api_user.id, g.api_user.email),
            current_app.config["SHOP_COUNTRY"],
        )
    return _cart_response()


@api_bp.delete("/cart/discount-code")
@api_auth(scope="orders")
@api_bp.response(200, CartEnvelopeSchema)
def cart_discount_code_delete():
    """Take the discount code off the caller's cart (nothing happens without one)."""
    with unit_of_work():
        quotes.remove_discount_code(carts.get_user_cart(g.api_user.id))
    return _cart_response()


@api_bp.post("/cart/items")
@api_auth(scope="orders")
@api_bp.arguments(CartItemCreateSchema)
@api_bp.response(201, CartEnvelopeSchema)
@api_bp.doc(
    responses={
        201: {"links": _CART_LINKS},
        404: {"description": "No active product with this SKU."},
        **_OUT_OF_STOCK,
    }
)
def cart_item_add(body):
    """Add ``quantity`` of ``sku`` (added to an existing line); 409 beyond the stock, 422 when
    the line would pass ``MAX_CART_QUANTITY``."""
    with unit_of_work():
        carts.add_item(carts.get_user_cart(g.api_user.id, create=True), body["sku"], body["quantity"])
    return _cart_response(201)


@api_bp.patch("/cart/items/<int:item_id>")
@api_auth(scope="orders")
@api_bp.arguments(CartItemUpdateSchema)
@api_bp.response(200, CartEnvelopeSchema)
@api_bp.doc(responses=_OUT_OF_STOCK)
def cart_item_update(body, item_id: int):
    """Set a line's quantity (0 removes the line, as on the cart page); 409 beyond the stock."""
    with unit_of_work():
        carts.update_item(_caller_cart(), item_id, body["quantity"])
    return _cart_response()


@api_bp.delete("/cart/items/<int:item_id>")
@api_auth(scope="orders")
@api_bp.response(200, CartEnvelopeSchema)
def cart_item_delete(item_id: int):
    """Remove a line."""
    with unit_of_work():
        carts.remove_item(_caller_cart(), item_id)
    return _cart_response()


@api_bp.post("/orders")
@api_auth(scope="orders")
@api_bp.arguments(OrderCreateSchema)
@api_bp.response(
    201,
    OrderEnvelopeSchema,
    headers={
        "Location": {"description": "The order's URL.", "required": True, "schema": {"type": "string"}},
        "Idempotent-Replayed": {
            "description": "`true` when an earlier request with the same Idempotency-Key placed the order.",
            "schema": {"type": "string", "enum": ["true"]},
        },
    },
)
@api_bp.doc(
    parameters=[
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
            "description": "Same key and body return the same order; a different body is 422. Kept 24 h+.",
        }
    ],
    responses={
        201: {"links": _ORDER_LINKS},
        422: {"description": "Invalid fields, or the Idempotency-Key was used before with another body."},
        409: {
            "description": "The cart is empty, a product ran out, no shipping method serves the address "
            "(or the chosen one cannot take the order), the total is not expected_total_cents, "
            "the discount code does not apply (or was used up meanwhile), or a request with the same "
            "Idempotency-Key is still being processed. Nothing changed."
        },
    },
)
def order_create(body):
    """Place an order from the caller's cart: one transaction checks and takes the stock.

    409 when a product ran out (nothing changed); with an ``Idempotency-Key`` a retry returns
    the first order instead of placing another.
    """
    user = g.api_user
    user_id, email = user.id, user.email
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        key = idempotency.check_idempotency_key(key)
    with unit_of_work():
        result = checkout.place_api_order(user_id, email, body, key)
        order, created = result.order, result.created
        if created:
            # In the order's transaction: the mail goes out once the order is committed.
            notifications.queue_order_confirmation(
                order, url_for("orders.order_detail", number=order.number, _external=True)
            )
        # Read everything the answer needs before the commit: afterwards the order is
        # expired, and reloading it from a database that just went away would turn a placed
        # order into a 500 (and a client's retry into a second order).
        data = order_json(order)
    headers = {"Location": url_for("orders_api.order_get", number=data["number"])}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return envelope(data, 201, headers)


@api_bp.get("/orders")
@api_auth(scope="orders")
@api_bp.arguments(PageQuerySchema, location="query")
@api_bp.response(200, OrderCollectionSchema)
@api_bp.doc(
    responses={
        200: {
            "links": {
                "GetFirstOrder": {
                    "operationId": "orders_api.order_get",
                    "parameters": {"number": "$response.body#/data/0/number"},
                }
            }
        }
    }
)
def order_list(args):
    """The caller's orders, newest first."""
    items, total = paginate_select(
        services.user_orders(g.api_user.id), args["page"], args["per_page"], order_json
    )
    return collection(items, args["page"], args["per_page"], total)


def _caller_order(number: str):
    """The caller's order; staff may address any order.

    Raises:
        NotFound: no such order, or someone else's (for non-staff).
    """
    user = g.api_user
    if user.is_staff:
        return services.get_order_by_number(number)
    return services.get_user_order(number, user.id)


@api_bp.get("/orders/<number>")
@api_auth(scope="orders")
@api_bp.response(200, OrderEnvelopeSchema)
@api_bp.doc(parameters=[_NUMBER])
def order_get(number: str):
    """One of the caller's orders (another user's is 404)."""
    user = g.api_user
    try:
        order = services.get_user_order(number, user.id)
    except NotFound:
        if not user.is_staff:
            raise
        order = services.get_order_by_number(number)
    return envelope(order_json(order, staff=user.is_staff))


@api_bp.post("/orders/<number>/cancel")
@api_auth(scope="orders")
@api_bp.arguments(CancelSchema, required=False)
@api_bp.response(200, OrderEnvelopeSchema)
@api_bp.doc(parameters=[_NUMBER], responses={409: {"description": "The order can no longer be cancelled."}})
def order_cancel(body, number: str):
    """Cancel: the owner while pending payment, staff while pending payment or paid.

    The stock goes back exactly once; a second cancel is 409.
    """
    user = g.api_user
    order = _caller_order(number)
    with unit_of_work():
        order = services.cancel_order(order.id, user.id, body.get("note", ""), staff=user.is_staff)
    return envelope(order_json(order, staff=user.is_staff))


@api_bp.post("/orders/<number>/transitions")
@api_auth(scope="orders", role="staff")
@api_bp.arguments(TransitionSchema)
@api_bp.response(200, OrderEnvelopeSchema)
@api_bp.doc(
    parameters=[_NUMBER],
    responses={
        409: {"description": "The lifecycle does not allow this transition."},
        422: {"description": "Invalid fields, or `to` is `shipped` without `carrier` and `tracking_number`."},
    },
)
def order_transition(body, number: str):
    """Staff: move an order to another status (409 if the lifecycle does not allow it). A
    move to ``shipped`` records ``carrier`` and ``tracking_number`` (both required: 422).
    The customer is mailed about paid, shipped and cancelled, once per step."""
    order = services.get_order_by_number(number)
    shipment = services.Shipment(body["carrier"], body["tracking_number"])
    with unit_of_work():
        order = services.transition_order(
            order.id, body["to"], g.api_user.id, body["note"], shipment=shipment
        )
    return envelope(order_json(order, staff=True))
