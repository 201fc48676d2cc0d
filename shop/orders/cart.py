"""Cart services: add, change, remove, review against current price and stock, merge.

A signed-in shopper's cart is a :class:`Cart` row with :class:`CartItem` lines. A guest's
cart lives in the Flask session as ``{"<product_id>": quantity}`` plus the prices the
guest saw, ``{"<product_id>": cents}``; the functions here take and return those plain
dicts and never touch the session themselves. Quantities are checked against stock when
they change, and every line is re-checked when the cart is shown (:func:`review_lines`),
because price and stock move while a cart waits. Stock is only taken at checkout.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from shop.catalog.models import Product
from shop.exceptions import NotFound
from shop.extensions import db
from shop.orders.cart_lines import (
    CartLine,
    CartView,
    check_quantity,
    clean_guest_items,
    ensure_stock,
    int_or_none,
    max_quantity,
    product_for_sku,
    review_lines,
)
from shop.orders.models import Cart, CartItem

# --- An account's cart ----------------------------------------------------------------------


def get_cart(user_id: int, create: bool = False, lock: bool = False) -> Cart | None:
    """The user's cart (created on demand with ``create``).

    Args:
        lock: take a row lock (``SELECT ... FOR UPDATE`` on PostgreSQL) so concurrent
            changes to the same cart queue up instead of racing.
    """
    stmt = select(Cart).where(Cart.user_id == user_id)
    if lock:
        stmt = stmt.with_for_update()
    cart = db.session.scalar(stmt)
    if cart is None and create:
        cart = Cart(user_id=user_id)
        db.session.add(cart)
        db.session.flush()
    return cart


def _user_item(user_id: int, item_id: int) -> CartItem:
    """One of the user's cart lines.

    Raises:
        NotFound: no such line in this user's cart (another user's line included).
    """
    item = db.session.scalar(
        select(CartItem)
        .join(Cart, Cart.id == CartItem.cart_id)
        .where(CartItem.id == item_id, Cart.user_id == user_id)
    )
    if item is None:
        raise NotFound("No such item in your cart.")
    return item


def add_item(user_id: int, sku: str, quantity) -> CartItem:
    """Add ``quantity`` of the product ``sku`` to the user's cart (adds to an existing line).

    The line remembers the current price as the price the shopper saw.

    Raises:
        ValidationFailed: bad quantity, or the line would exceed ``MAX_CART_QUANTITY``.
        NotFound: unknown or unavailable SKU.
        OutOfStock: not enough stock for the line's new quantity.
    """
    quantity = check_quantity(quantity)
    product = product_for_sku(sku)
    cart = get_cart(user_id, create=True, lock=True)
    item = db.session.scalar(
        select(CartItem).where(CartItem.cart_id == cart.id, CartItem.product_id == product.id)
    )
    already = item.quantity if item else 0
    total = check_quantity(already + quantity)
    ensure_stock(product, total, already)
    if item is None:
        item = CartItem(
            cart_id=cart.id, product_id=product.id, quantity=total, seen_price_cents=product.price_cents
        )
        db.session.add(item)
    else:
        item.quantity = total
        item.seen_price_cents = product.price_cents
    db.session.flush()
    return item


def update_item(user_id: int, item_id: int, quantity) -> CartItem | None:
    """Set a line's quantity; 0 removes the line (returns None).

    Raises:
        ValidationFailed: bad quantity.
        NotFound: not the user's line.
        OutOfStock: more than the stock.
    """
    quantity = check_quantity(quantity, allow_zero=True)
    item = _user_item(user_id, item_id)
    if quantity == 0:
        db.session.delete(item)
        db.session.flush()
        return None
    ensure_stock(item.product, quantity)
    item.quantity = quantity
    db.session.flush()
    return item


def remove_item(user_id: int, item_id: int) -> None:
    """Remove one line from the user's cart.

    Raises:
        NotFound: not the user's line.
    """
    db.session.delete(_user_item(user_id, item_id))
    db.session.flush()


def clear_cart(user_id: int) -> None:
    """Remove every line of the user's cart."""
    cart = get_cart(user_id)
    if cart is not None:
        db.session.execute(delete(CartItem).where(CartItem.cart_id == cart.id))
        db.session.expire(cart, ["items"])


def review_user_cart(user_id: int, acknowledge: bool = False) -> CartView:
    """The user's cart re-checked against current price and stock (see :func:`review_lines`).

    With ``acknowledge`` the stored lines are updated (flush; the caller commits).
    """
    cart = get_cart(user_id)
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
        by_id = {line.id: line for line in kept}
        for item in items:
            line = by_id.get(item.id)
            if line is None:
                db.session.delete(item)
            elif (item.quantity, item.seen_price_cents) != (line.quantity, line.seen_price_cents):
                item.quantity = line.quantity
                item.seen_price_cents = line.seen_price_cents
        db.session.flush()
    return CartView(kept, notices)


def merge_guest_cart(user_id: int, guest_cart: dict, seen_prices: dict | None = None) -> list[str]:
    """Merge a guest's session cart into the account's cart after login.

    Policy: quantities are added to the account's lines and capped at the stock (and at
    ``MAX_CART_QUANTITY``); products no longer on sale or sold out are left out.

    Args:
        guest_cart: ``{"<product_id>": quantity}`` as kept in the session; junk is ignored.
        seen_prices: optional ``{"<product_id>": cents}`` the guest saw.
    Returns:
        Human messages saying what changed, for the login view to flash.
    """
    entries = clean_guest_items(guest_cart)
    if not entries:
        return []
    seen_prices = seen_prices or {}
    cart = get_cart(user_id, create=True, lock=True)
    existing = {
        i.product_id: i for i in db.session.scalars(select(CartItem).where(CartItem.cart_id == cart.id)).all()
    }
    products = {
        p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(list(entries)))).all()
    }
    messages: list[str] = []
    merged = 0
    for product_id, qty in sorted(entries.items()):
        product = products.get(product_id)
        if product is None or not product.is_active:
            name = product.name if product else "A product"
            messages.append(f"{name} from your earlier cart is no longer sold and was not added.")
            continue
        item = existing.get(product_id)
        before = item.quantity if item else 0
        wanted = before + qty
        limit = min(product.stock, max_quantity())
        if limit <= before:
            if product.stock == 0:
                messages.append(f"{product.name} is sold out and was not added to your cart.")
            else:
                messages.append(f"Only {product.stock} left of {product.name}: your cart keeps {before}.")
            continue
        final = min(wanted, limit)
        if final < wanted:
            messages.append(f"Only {limit} of {product.name} can be ordered: your cart now has {final}.")
        elif item is not None:
            messages.append(f"{product.name}: quantities combined ({before} + {qty} = {final}).")
        if item is None:
            seen = int_or_none(seen_prices.get(str(product_id)))
            db.session.add(
                CartItem(
                    cart_id=cart.id,
                    product_id=product_id,
                    quantity=final,
                    seen_price_cents=seen if seen is not None else product.price_cents,
                )
            )
        else:
            item.quantity = final
        merged += 1
    if merged:
        noun = "product" if merged == 1 else "products"
        messages.insert(0, f"{merged} {noun} from before you logged in were added to your cart.")
    db.session.flush()
    return messages


# --- A guest's cart (plain dicts kept in the session by the view) ---------------------------


def guest_add(items: dict, prices: dict, sku: str, quantity) -> tuple[dict, dict, Product]:
    """Add to a guest cart. Returns new ``(items, prices, product)`` dicts for the session.

    Raises:
        ValidationFailed / NotFound / OutOfStock: as :func:`add_item`.
    """
    quantity = check_quantity(quantity)
    product = product_for_sku(sku)
    items, prices = dict(items or {}), dict(prices or {})
    key = str(product.id)
    already = int_or_none(items.get(key)) or 0
    total = check_quantity(already + quantity)
    ensure_stock(product, total, already)
    items[key] = total
    prices[key] = product.price_cents
    return items, prices, product


def guest_update(items: dict, prices: dict, product_id: int, quantity) -> tuple[dict, dict]:
    """Set a guest line's quantity (0 removes it). Returns new ``(items, prices)``.

    Raises:
        ValidationFailed: bad quantity.
        NotFound: the product is not in the guest's cart.
        OutOfStock: more than the stock.
    """
    quantity = check_quantity(quantity, allow_zero=True)
    items, prices = dict(items or {}), dict(prices or {})
    key = str(product_id)
    if key not in items:
        raise NotFound("No such item in your cart.")
    if quantity == 0:
        return guest_remove(items, prices, product_id)
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("No such item in your cart.")
    ensure_stock(product, quantity)
    items[key] = quantity
    return items, prices


def guest_remove(items: dict, prices: dict, product_id: int) -> tuple[dict, dict]:
    """Remove a guest line. Returns new ``(items, prices)``.

    Raises:
        NotFound: the product is not in the guest's cart.
    """
    items, prices = dict(items or {}), dict(prices or {})
    key = str(product_id)
    if key not in items:
        raise NotFound("No such item in your cart.")
    items.pop(key)
    prices.pop(key, None)
    return items, prices


def review_guest_cart(items: dict, prices: dict, acknowledge: bool = False) -> tuple[CartView, dict, dict]:
    """A guest cart re-checked against current price and stock (see :func:`review_lines`).

    Returns:
        ``(view, items, prices)``: the dicts as they should be stored back in the session.
    """
    entries = clean_guest_items(items)
    prices = prices or {}
    products = (
        {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(list(entries)))).all()}
        if entries
        else {}
    )
    lines = []
    for pid, qty in entries.items():
        product = products.get(pid)
        if product is None:
            continue  # deleted from the catalog
        seen = int_or_none(prices.get(str(pid)))
        lines.append(CartLine(pid, product, qty, seen if seen is not None else product.price_cents))
    kept, notices = review_lines(lines, acknowledge)
    if acknowledge:
        items = {str(line.id): line.quantity for line in kept}
        prices = {str(line.id): line.seen_price_cents for line in kept}
    return CartView(kept, notices), items, prices
