"""Checkout: turn a cart into an order in one transaction.

Checkout only coordinates the cart (``orders/cart.py``), the totals (``pricing/totals.py``),
the order lifecycle (``orders/services.py``), stock (``catalog/stock.py``), discount code
uses (``pricing/discounts.py``) and payment (``payments/providers.py``), as django-oscar's
OrderCreator does. :func:`place_order` re-reads the cart and the
products inside the caller's transaction, takes stock with conditional UPDATEs in
product-id order (so two checkouts cannot deadlock), snapshots SKU, name and unit price
into the lines, and raises before anything is committed if a line cannot be had: the
caller then rolls back and nothing has changed.

The two guards that keep one intention to one order (the form's checkout token and the
API's ``Idempotency-Key``) live in ``orders/idempotency.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from shop.catalog import stock
from shop.catalog.models import Product
from shop.exceptions import Conflict, OutOfStock, ValidationFailed
from shop.extensions import db
from shop.orders import cart as carts
from shop.orders import quotes, services
from shop.orders.idempotency import find_idempotent_order, request_fingerprint
from shop.orders.models import Cart, CartItem, IdempotencyKey, Order, OrderLine
from shop.orders.schemas import clean_address
from shop.payments import providers as payments
from shop.pricing import discounts, totals
from shop.pricing.discounts import Customer
from shop.pricing.totals import Breakdown, LineTotals
from shop.transaction import insert_unless_taken


@dataclass
class CheckoutResult:
    """The order checkout ended with; ``created`` is False when the token or key had
    already placed it (a double submit or a retry)."""

    order: Order
    created: bool
    #: The shopper pays on the provider's page next (a card order just placed).
    redirect: bool = False


@dataclass
class _Wanted:
    """A product and quantity to order."""

    product: Product
    quantity: int


# --- Placing the order --------------------------------------------------------------------------


def _wanted(cart: Cart | None) -> list[_Wanted]:
    """The cart's lines with their products read afresh, in product-id order.

    The cart row is locked first, so checkouts of one cart (a double submit) queue up; the
    fixed product order means two checkouts never wait on each other's stock in a circle.
    """
    if cart is None:
        return []
    carts.lock_cart(cart)
    rows = db.session.execute(
        select(Product, CartItem.quantity)
        .join(CartItem, CartItem.product_id == Product.id)
        .where(CartItem.cart_id == cart.id)
        .order_by(Product.id)
        .execution_options(populate_existing=True)
    ).all()
    return [_Wanted(p, q) for p, q in rows]


def _existing_for(number: str, user_id: int | None, email: str) -> Order | None:
    """The order a checkout token already placed, if it is this shopper's.

    Raises:
        Conflict: the number belongs to someone else's order.
    """
    order = db.session.scalar(select(Order).where(Order.number == number))
    if order is None:
        return None
    mine = (
        order.user_id == user_id if user_id is not None else (order.user_id is None and order.email == email)
    )
    if not mine:
        raise Conflict("This checkout form cannot be used again; please start checkout anew.")
    return order


def _check_lines(wanted: list[_Wanted]) -> None:
    """Every line can be had: the product is on sale and has the stock.

    Raises:
        Conflict: no lines (an empty cart).
        OutOfStock: the first line that cannot be had, naming the product.
    """
    if not wanted:
        raise Conflict("Your cart is empty.", {"cart": ["Add something to your cart first."]})
    for w in wanted:
        if not w.product.is_active:
            raise OutOfStock(
                f"{w.product.name} is no longer sold; please remove it from your cart.",
                {"stock": [f"{w.product.sku}: no longer sold."]},
            )
        if w.quantity > w.product.stock:
            left = w.product.stock
            raise OutOfStock(
                f"Not enough stock for {w.product.name}: {w.quantity} requested, {left} left.",
                {"stock": [f"{w.product.sku}: only {left} left."]},
            )


def _check_breakdown(breakdown: Breakdown, shipping_method_id: int | None, discount_code: str | None) -> None:
    """The order can be placed as the shopper asked: the address is served, the chosen
    method can take the order, and the typed code applies.

    Raises:
        Conflict: no method ships to the address, the chosen one cannot take this order
            (unknown, inactive, not for this country, beyond its bands), or the code does
            not apply (expired, used up, below its minimum, ...) (409: the request is well
            formed; the shop's state refuses it).
    """
    if not breakdown.ships:
        raise Conflict(breakdown.shipping_refusal, {"shipping_address.country": [breakdown.shipping_refusal]})
    if shipping_method_id is not None and breakdown.shipping_method_id != shipping_method_id:
        raise Conflict(
            "The shipping method you chose cannot ship this order to this address; please choose another.",
            {"shipping_method": ["Not available for this address and order."]},
        )
    if breakdown.discount_refusal:
        raise Conflict(breakdown.discount_refusal, {"discount_code": [breakdown.discount_refusal]})


def _money_columns(breakdown: Breakdown) -> dict:
    """The order's money columns: the breakdown as a snapshot (see :class:`Order`)."""
    return {
        "status": "pending_payment",
        "currency": breakdown.currency,
        "subtotal_cents": breakdown.subtotal_cents,
        "discount_cents": breakdown.discount_cents,
        "shipping_cents": breakdown.shipping_cents,
        "shipping_tax_cents": breakdown.shipping_tax_cents,
        "tax_cents": breakdown.tax_cents,
        "total_cents": breakdown.total_cents,
        "prices_include_tax": breakdown.prices_include_tax,
        "tax_name": breakdown.tax_name,
        "tax_rate_bp": breakdown.tax_rate_bp,
        "shipping_method_id": breakdown.shipping_method_id,
        "shipping_method_name": breakdown.shipping_method_name,
        "discount_code": breakdown.discount_code,
    }


def _check_total(total_cents: int, expected_total_cents: int | None) -> None:
    """The total is still what the shopper saw (when they said what they saw).

    Raises:
        Conflict: it changed.
    """
    if expected_total_cents is not None and expected_total_cents != total_cents:
        raise Conflict(
            "Prices changed since you opened checkout; please review the new total and confirm again.",
            {"expected_total_cents": [f"The total is now {total_cents}."]},
        )


def _claim_number(order: Order) -> Order | None:
    """Insert the order, claiming its unique number; None if a concurrent checkout with the
    same token claimed it first."""
    return order if insert_unless_taken(order, "uq_orders_number", "orders.number") else None


def _take_stock(
    order: Order, wanted: list[_Wanted], lines: Sequence[LineTotals], actor_id: int | None
) -> None:
    """Allocate each line's stock (a conditional UPDATE and a ledger row) and snapshot the
    line's SKU, name, unit price, discount and tax into the order.

    Raises:
        OutOfStock: stock went between reading and taking it.
    """
    for w, money in zip(wanted, lines, strict=True):
        stock.allocate(w.product.id, w.quantity, order.id, actor_id=actor_id, sku=w.product.name)
        db.session.add(
            OrderLine(
                order_id=order.id,
                product_id=w.product.id,
                sku=w.product.sku,
                name=w.product.name[:500],
                unit_price_cents=w.product.price_cents,
                quantity=w.quantity,
                discount_cents=money.discount_cents,
                tax_cents=money.tax_cents,
                tax_rate_bp=money.tax_rate_bp,
            )
        )


def _start_payment(order: Order, provider) -> payments.PaymentOutcome:
    """Hand the order to its payment provider; an instant payment marks it paid."""
    outcome = provider.start(order)
    if outcome.reference:
        order.payment_reference = outcome.reference
    if outcome.paid:
        services.transition_order(order.id, "paid", None, outcome.note)
    return outcome


def place_order(
    *,
    cart: Cart | None,
    user_id: int | None,
    email: str,
    shipping_address: dict,
    payment_provider: str | None = None,
    order_number: str | None = None,
    expected_total_cents: int | None = None,
    shipping_method_id: int | None = None,
    discount_code: str | None = None,
) -> CheckoutResult:
    """Place an order from a cart in the caller's transaction (flushes; caller commits).

    Args:
        cart: the shopper's cart (a guest's or a customer's); None is an empty cart.
        user_id: the shopper's account, or None for a guest.
        email: where the confirmation goes (the account's address for signed-in shoppers).
        shipping_address: ``{name, line1, line2?, city, region?, postal_code, country}``.
        payment_provider: an enabled provider name (None: the default).
        order_number: a number pre-drawn by a checkout token; an order that already has it
            is returned with ``created=False`` (a double submit or a reload).
        expected_total_cents: refuse if the total is no longer what the shopper saw.
        shipping_method_id: the chosen shipping method (None: the cheapest that serves
            the address; no method at all when the shop has none).
        discount_code: the code the shopper typed (None or '': none).
    Returns:
        :class:`CheckoutResult`; the cart is emptied when the order is created. The
        order's totals are :func:`shop.pricing.totals.compute` of the cart read inside this
        transaction, stored as a snapshot with each line's discount and tax.
    Raises:
        ValidationFailed: bad address, e-mail or provider (422). Conflict: empty cart, no
            method ships to the address or the chosen one cannot take the order, the total
            changed, the code does not apply or was used up meanwhile, or the token is
            another shopper's (409). OutOfStock: a product is no longer sold or has too little stock left
            (409), naming it.
    """
    provider = payments.get_provider(payment_provider)
    address, email = clean_address(shipping_address), _clean_email(email)
    wanted = _wanted(cart)
    if order_number and (existing := _existing_for(order_number, user_id, email)) is not None:
        return CheckoutResult(existing, created=False)
    _check_lines(wanted)
    customer = Customer(user_id, email)
    breakdown = totals.compute(
        quotes.priced_lines((w.product, w.quantity) for w in wanted),
        country=address["country"],
        region=address.get("region", ""),
        shipping_method_id=shipping_method_id,
        code=discount_code,
        customer=customer,
    )
    _check_breakdown(breakdown, shipping_method_id, discount_code)
    order = Order(
        number=order_number or services.new_order_number(),
        user_id=user_id,
        email=email,
        shipping_address=address,
        payment_provider=provider.name,
        **_money_columns(breakdown),
    )
    _check_total(order.total_cents, expected_total_cents)
    if _claim_number(order) is None:
        return _placed_meanwhile(order.number, user_id, email)
    _take_stock(order, wanted, breakdown.lines, user_id)
    if breakdown.discount_code_id is not None:
        discounts.redeem(breakdown.discount_code_id, order.id, customer, breakdown.discount_cents)
    services.record_event(order, None, "pending_payment", user_id, "Order placed.")
    outcome = _start_payment(order, provider)
    carts.clear_cart(cart)
    return CheckoutResult(services.get_order(order.id), created=True, redirect=outcome.redirect)


def _clean_email(email: str) -> str:
    """The confirmation address, trimmed and lower-cased.

    Raises:
        ValidationFailed: not an e-mail address (no ``@``, or over 254 characters).
    """
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise ValidationFailed(
            "A valid e-mail address is needed.", {"email": ["Enter a valid e-mail address."]}
        )
    return email


def _placed_meanwhile(number: str, user_id: int | None, email: str) -> CheckoutResult:
    """The order a concurrent submit of the same checkout form placed first.

    Raises:
        Conflict: it is not visible yet, or not this shopper's.
    """
    existing = _existing_for(number, user_id, email)
    if existing is None:
        raise Conflict("Your order could not be placed just now; please try again.")
    return CheckoutResult(existing, created=False)


def place_api_order(user_id: int, email: str, body: dict, idempotency_key: str | None) -> CheckoutResult:
    """Place an order for ``POST /api/v1/orders`` from the user's cart, honouring an optional
    Idempotency-Key.

    The key row is inserted before anything else, in the same transaction as the order, so
    a concurrent request with the same key waits on the unique constraint; when the first
    commits, this one answers with the first's order (the insert is undone to a savepoint).

    Raises:
        as :func:`place_order` and :func:`find_idempotent_order`; Conflict when a request
        with the same key is still being processed.
    """
    cart = carts.get_user_cart(user_id)
    claim = None
    if idempotency_key is not None and cart is not None:
        # The cart's lock comes first: one checkout of this cart at a time, and the
        # key's savepoint then nests inside an open transaction (SQLite).
        carts.lock_cart(cart)
        fingerprint = request_fingerprint(body)
        existing = find_idempotent_order(user_id, idempotency_key, fingerprint)
        if existing is not None:
            return CheckoutResult(existing, created=False)
        claim = _claim_key(user_id, idempotency_key, fingerprint)
        if claim is None:
            return _replayed(user_id, idempotency_key, fingerprint)
    result = place_order(
        cart=cart,
        user_id=user_id,
        email=email,
        shipping_address=body["shipping_address"],
        payment_provider=body.get("payment_provider"),
        expected_total_cents=body.get("expected_total_cents"),
        shipping_method_id=body.get("shipping_method"),
        discount_code=body.get("discount_code", cart.discount_code if cart is not None else None),
    )
    if claim is not None:
        claim.order_id = result.order.id
        db.session.flush()
    return result


def _claim_key(user_id: int, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Insert the key's row; None if a concurrent request with the same key inserted it first."""
    claim = IdempotencyKey(user_id=user_id, key=key, request_hash=fingerprint)
    taken = not insert_unless_taken(claim, "uq_idempotency_keys_user_key", "idempotency_keys.user_id")
    return None if taken else claim


def _replayed(user_id: int, key: str, fingerprint: str) -> CheckoutResult:
    """The order a concurrent request with the same key placed.

    Raises:
        Conflict: that request has not finished (or placed nothing).
        ValidationFailed: it had a different body.
    """
    order = find_idempotent_order(user_id, key, fingerprint)
    if order is None:
        raise Conflict("A request with this Idempotency-Key is still being processed; retry shortly.")
    return CheckoutResult(order, created=False)
