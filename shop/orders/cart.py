"""Cart services: find, add, change, remove, review against current price and stock, merge,
purge.

Every cart is a :class:`Cart` row, whoever shops: a customer's belongs to the account, a
guest's is found by an unguessable token that the request layer (``orders/visitor.py``)
keeps in the session. The functions here take a cart and plain values and never read the
request. Quantities are checked against stock when they change, and every line is
re-checked when the cart is shown (:func:`review_cart`), because price and stock move
while a cart waits. Stock is only taken at checkout.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask_babel import ngettext
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import selectinload

from shop.dbtypes import utcnow
from shop.exceptions import Conflict, NotFound
from shop.extensions import db
from shop.orders.cart_lines import (
    CartLine,
    CartView,
    check_quantity,
    ensure_stock,
    max_quantity,
    product_for_sku,
    review_lines,
)
from shop.orders.models import Cart, CartItem

# --- Finding carts ----------------------------------------------------------------------------


def get_user_cart(user_id: int, create: bool = False) -> Cart | None:
    """The account's cart, created on demand with ``create`` (flushes).

    Returns:
        The cart, or None when the account has none and ``create`` is False.
    """
    cart = db.session.scalar(select(Cart).where(Cart.user_id == user_id))
    if cart is None and create:
        cart = Cart(user_id=user_id)
        db.session.add(cart)
        db.session.flush()
    return cart


def get_guest_cart(token: str | None) -> Cart | None:
    """The guest cart with this session token, or None (no token, unknown or purged)."""
    if not token or not isinstance(token, str):
        return None
    return db.session.scalar(select(Cart).where(Cart.token == token, Cart.user_id.is_(None)))


def new_guest_cart() -> Cart:
    """A new, empty guest cart with a fresh 256-bit token (flushes; the caller keeps the token)."""
    cart = Cart(token=secrets.token_urlsafe(32))
    db.session.add(cart)
    db.session.flush()
    return cart


def lock_cart(cart: Cart) -> Cart:
    """Take the cart's write lock by touching its ``updated_at``, and return it (flushes).

    An UPDATE rather than ``SELECT ... FOR UPDATE``: PostgreSQL locks the row either way,
    and SQLite (which ignores FOR UPDATE) takes its write lock and opens the transaction,
    so a later savepoint nests inside it. Changes to one cart and its checkout queue up on
    this lock instead of racing.
    """
    db.session.flush()
    now = utcnow()
    db.session.execute(update(Cart).where(Cart.id == cart.id).values(updated_at=now))
    db.session.flush()
    return cart


def _touch(cart: Cart) -> None:
    """Mark the cart as used now (a line changed), so age-based purging spares it."""
    cart.updated_at = utcnow()


def _item(cart: Cart, item_id: int) -> CartItem:
    """One line of this cart.

    Raises:
        NotFound: no such line in this cart (another cart's line included).
    """
    item = db.session.scalar(select(CartItem).where(CartItem.id == item_id, CartItem.cart_id == cart.id))
    if item is None:
        raise NotFound("That item is no longer in your cart.")
    return item


# --- Changing a cart ----------------------------------------------------------------------------


def add_item(cart: Cart, sku: str, quantity) -> CartItem:
    """Add ``quantity`` of the product ``sku`` to the cart (adds to an existing line; flushes).

    The line remembers the current price as the price the shopper saw.

    Raises:
        ValidationFailed: bad quantity.
        NotFound: unknown or unavailable SKU.
        Conflict: the line already holds so much that it would pass ``MAX_CART_QUANTITY``
            (the same request is fine on a cart without it).
        OutOfStock: not enough stock for the line's new quantity.
    """
    quantity = check_quantity(quantity)
    product = product_for_sku(sku)
    lock_cart(cart)
    item = db.session.scalar(
        select(CartItem).where(CartItem.cart_id == cart.id, CartItem.product_id == product.id)
    )
    already = item.quantity if item else 0
    total = already + quantity
    if total > max_quantity():
        raise Conflict(
            f"A cart line holds at most {max_quantity()}; this one already has {already}.",
            {"quantity": [f"At most {max_quantity() - already} more."]},
        )
    ensure_stock(product, total, already)
    if item is None:
        item = CartItem(
            cart_id=cart.id, product_id=product.id, quantity=total, seen_price_cents=product.price_cents
        )
        db.session.add(item)
    else:
        item.quantity = total
        item.seen_price_cents = product.price_cents
    _touch(cart)
    db.session.flush()
    return item


def update_item(cart: Cart, item_id: int, quantity) -> CartItem | None:
    """Set a line's quantity; 0 removes the line (returns None). Flushes.

    Raises:
        ValidationFailed: bad quantity.
        NotFound: not a line of this cart.
        OutOfStock: more than the stock.
    """
    quantity = check_quantity(quantity, allow_zero=True)
    item = _item(cart, item_id)
    if quantity == 0:
        remove_item(cart, item_id)
        return None
    ensure_stock(item.product, quantity)
    item.quantity = quantity
    _touch(cart)
    db.session.flush()
    return item


def remove_item(cart: Cart, item_id: int) -> None:
    """Remove one line from the cart (flushes).

    Raises:
        NotFound: not a line of this cart.
    """
    db.session.delete(_item(cart, item_id))
    _touch(cart)
    db.session.flush()


def clear_cart(cart: Cart) -> None:
    """Remove every line of the cart (flushes)."""
    db.session.execute(delete(CartItem).where(CartItem.cart_id == cart.id))
    db.session.expire(cart, ["items"])
    _touch(cart)
    db.session.flush()


def owner_cart_quantity(user_id: int | None = None, token: str | None = None) -> int:
    """Total units in the cart of account ``user_id`` (or else the guest cart with ``token``),
    0 without one: one aggregate query, for pages that show the count but not the cart."""
    if user_id is not None:
        owner = Cart.user_id == user_id
    elif token and isinstance(token, str):
        owner = (Cart.token == token) & Cart.user_id.is_(None)
    else:
        return 0
    total = db.session.scalar(
        select(func.coalesce(func.sum(CartItem.quantity), 0))
        .join(Cart, Cart.id == CartItem.cart_id)
        .where(owner)
    )
    return int(total or 0)


def cart_quantity(cart: Cart | None) -> int:
    """Total units in the cart (0 for no cart), read with one aggregate query."""
    if cart is None:
        return 0
    return sum(db.session.scalars(select(CartItem.quantity).where(CartItem.cart_id == cart.id)))


# --- Reviewing ------------------------------------------------------------------------------------


def review_cart(cart: Cart | None, acknowledge: bool = False) -> CartView:
    """The cart re-checked against current price and stock (see :func:`review_lines`).

    Args:
        cart: the cart, or None (an empty view).
        acknowledge: store the lines as the shopper now sees them (prices seen, quantities
            lowered to the stock, lines no longer sold dropped; flushes, the caller commits).
    """
    if cart is None:
        return CartView([], [])
    items = db.session.scalars(
        select(CartItem)
        .where(CartItem.cart_id == cart.id)
        .options(selectinload(CartItem.product))
        .order_by(CartItem.id)
    ).all()
    lines = [CartLine(i.id, i.product, i.quantity, i.seen_price_cents) for i in items]
    kept, notices = review_lines(lines, acknowledge)
    if acknowledge:
        _store_review(items, kept)
    return CartView(kept, notices)


def _store_review(items: list[CartItem], kept: list[CartLine]) -> None:
    """Write reviewed lines back: dropped lines deleted, changed quantities and prices set."""
    by_id = {line.id: line for line in kept}
    for item in items:
        line = by_id.get(item.id)
        if line is None:
            db.session.delete(item)
        elif (item.quantity, item.seen_price_cents) != (line.quantity, line.seen_price_cents):
            item.quantity = line.quantity
            item.seen_price_cents = line.seen_price_cents
    db.session.flush()


# --- Merging on login ---------------------------------------------------------------------------


def merge_carts(source: Cart, target: Cart) -> list[str]:
    """Move a guest's cart into the account's cart after login, then delete the guest cart.

    Policy: quantities are added to the account's lines and capped at the stock (and at
    ``MAX_CART_QUANTITY``); products no longer on sale or sold out are left out. The price
    the guest saw travels with a new line, and the guest's discount code with the cart
    when the account's cart has none (checkout checks it again).

    Returns:
        Human messages saying what changed, for the login page to flash (empty when the
        guest cart was empty).
    """
    lock_cart(target)
    incoming = db.session.scalars(
        select(CartItem)
        .where(CartItem.cart_id == source.id)
        .options(selectinload(CartItem.product))
        .order_by(CartItem.product_id)
    ).all()
    existing = {
        i.product_id: i for i in db.session.scalars(select(CartItem).where(CartItem.cart_id == target.id))
    }
    messages: list[str] = []
    merged = sum(_merge_line(line, existing.get(line.product_id), target, messages) for line in incoming)
    if merged:
        messages.insert(
            0,
            ngettext(
                "%(num)d product from before you logged in was added to your cart.",
                "%(num)d products from before you logged in were added to your cart.",
                merged,
            ),
        )
        _touch(target)
    if source.discount_code and not target.discount_code:
        target.discount_code = source.discount_code
    db.session.delete(source)
    db.session.flush()
    return messages


def _merge_line(line: CartItem, item: CartItem | None, target: Cart, messages: list[str]) -> bool:
    """Merge one guest line into the account's line for the same product (or a new one).

    Appends what happened to ``messages``; returns True when the account's cart changed.
    """
    product = line.product
    if not product.is_active:
        messages.append(f"{product.name} from your earlier cart is no longer sold and was not added.")
        return False
    before = item.quantity if item else 0
    wanted = before + line.quantity
    limit = min(product.stock, max_quantity())
    if limit <= before:
        if product.stock == 0:
            messages.append(f"{product.name} is sold out and was not added to your cart.")
        else:
            messages.append(f"Only {product.stock} left of {product.name}: your cart keeps {before}.")
        return False
    final = min(wanted, limit)
    if final < wanted:
        messages.append(f"Only {limit} of {product.name} can be ordered: your cart now has {final}.")
    elif item is not None:
        messages.append(f"{product.name}: quantities combined ({before} + {line.quantity} = {final}).")
    if item is None:
        db.session.add(
            CartItem(
                cart_id=target.id,
                product_id=product.id,
                quantity=final,
                seen_price_cents=line.seen_price_cents,
            )
        )
    else:
        item.quantity = final
    return True


# --- Housekeeping -------------------------------------------------------------------------------


def purge_guest_carts(older_than: timedelta) -> int:
    """Delete guest carts untouched for longer than ``older_than`` (their lines go with them).

    Returns:
        How many carts were deleted. Customers' carts are never purged.
    """
    cutoff = utcnow() - older_than
    stale = select(Cart.id).where(Cart.user_id.is_(None), Cart.updated_at < cutoff)
    # Lines first: SQLite only cascades with foreign keys on, and this must not depend on it.
    db.session.execute(delete(CartItem).where(CartItem.cart_id.in_(stale)))
    result = db.session.execute(delete(Cart).where(Cart.user_id.is_(None), Cart.updated_at < cutoff))
    return result.rowcount or 0
