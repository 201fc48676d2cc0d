"""Stock changes, each recorded in the stock ledger (:class:`StockMovement`).

Rules:
- Stock is only changed here, always together with a ledger row, in the caller's
  transaction (services flush; the caller commits).
- Allocation is a conditional ``UPDATE ... SET stock = stock - :qty WHERE stock >= :qty``
  checked by row count, so two concurrent checkouts can never both take the last unit;
  the ``stock >= 0`` CHECK constraint backs it up.
- Staff edits are compare-and-swap: they name the stock they saw; if it changed
  meanwhile the edit is refused (:class:`StaleWrite`) with the current figure.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from shop import audit
from shop.cache_invalidation import mark_stock_changed
from shop.catalog.models import Product, StockMovement
from shop.exceptions import NotFound, OutOfStock, StaleWrite, ValidationFailed
from shop.extensions import db


def _record(
    product_id: int,
    delta: int,
    reason: str,
    actor_id: int | None = None,
    order_id: int | None = None,
    note: str = "",
) -> StockMovement:
    """Add one ledger row (no stock change by itself)."""
    movement = StockMovement(
        product_id=product_id,
        delta=delta,
        reason=reason,
        actor_id=actor_id,
        order_id=order_id,
        note=note[:255],
    )
    db.session.add(movement)
    return movement


def allocate(
    product_id: int, quantity: int, order_id: int | None, actor_id: int | None = None, sku: str = ""
) -> None:
    """Take ``quantity`` units for an order, or fail without changing anything.

    Raises:
        ValidationFailed: quantity < 1.
        OutOfStock: fewer than ``quantity`` units are left (or the product is not active).
    """
    if quantity < 1:
        raise ValidationFailed("Quantity must be at least 1.", {"quantity": ["Must be at least 1."]})
    result = db.session.execute(
        update(Product)
        .where(Product.id == product_id, Product.stock >= quantity, Product.status == "active")
        .values(stock=Product.stock - quantity)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        row = db.session.execute(
            select(Product.stock, Product.status).where(Product.id == product_id)
        ).first()
        label = sku or f"product {product_id}"
        if row is None or row.status != "active":
            raise OutOfStock(f"{label} is no longer sold.", {"stock": [f"{label}: no longer sold."]})
        left = row.stock
        raise OutOfStock(
            f"Not enough stock for {label}: {quantity} requested, {left or 0} left.",
            {"stock": [f"{label}: only {left or 0} left."]},
        )
    _record(product_id, -quantity, "order", actor_id, order_id)
    mark_stock_changed(db.session, [product_id])


def release(
    product_id: int,
    quantity: int,
    order_id: int | None,
    actor_id: int | None = None,
    note: str = "",
    reason: str = "cancellation",
) -> None:
    """Put ``quantity`` units back: an order cancelled (``reason`` ``cancellation``) or
    refunded with its goods returned to stock (``refund``)."""
    db.session.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(stock=Product.stock + quantity)
        .execution_options(synchronize_session=False)
    )
    _record(product_id, quantity, reason, actor_id, order_id, note)
    mark_stock_changed(db.session, [product_id])


def set_stock(
    product_id: int,
    new_stock: int,
    expected_stock: int | None,
    actor_id: int | None,
    reason: str = "staff_edit",
    note: str = "",
) -> int:
    """Set a product's stock to ``new_stock`` if it still equals ``expected_stock``.

    Args:
        expected_stock: the figure the editor saw; None skips the guard (imports only).
    Returns:
        The delta recorded in the ledger (0 when nothing changed).
    Raises:
        ValidationFailed: ``new_stock`` < 0.
        NotFound: no such product.
        StaleWrite: the stock changed since it was read; ``detail`` gives the current figure.
    """
    if new_stock < 0:
        raise ValidationFailed("Stock cannot be negative.", {"stock": ["Must be 0 or more."]})
    current = db.session.scalar(select(Product.stock).where(Product.id == product_id))
    if current is None:
        raise NotFound("No such product.")
    if expected_stock is not None and current != expected_stock:
        raise StaleWrite(
            f"Stock changed from {expected_stock} to {current} since you loaded it; "
            f"check the new figure and try again.",
            {"stock": [f"Now {current}, not {expected_stock}."]},
        )
    delta = new_stock - current
    if delta == 0:
        return 0
    guard = Product.stock == current
    result = db.session.execute(
        update(Product)
        .where(Product.id == product_id, guard)
        .values(stock=new_stock)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # a sale landed between our read and our write
        now = db.session.scalar(select(Product.stock).where(Product.id == product_id))
        raise StaleWrite(
            f"Stock changed to {now} while saving; check the new figure and try again.",
            {"stock": [f"Now {now}."]},
        )
    movement = _record(product_id, delta, reason, actor_id, None, note)
    db.session.flush()  # the ledger row's id goes into the audit entry
    sku = db.session.scalar(select(Product.sku).where(Product.id == product_id))
    audit.record(
        "stock.set",
        "product",
        product_id,
        sku,
        {"stock": [current, new_stock]},
        actor_id,
        f"ledger movement {movement.id} ({reason}{': ' + note if note else ''})",
    )
    mark_stock_changed(db.session, [product_id])
    return delta


def ledger_mismatches() -> list[dict]:
    """Products whose stock differs from the sum of their ledger.

    Returns:
        ``[{product_id, sku, stock, ledger}]``, empty when every product agrees.
    """
    ledger = (
        select(StockMovement.product_id, func.coalesce(func.sum(StockMovement.delta), 0).label("total"))
        .group_by(StockMovement.product_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Product.id, Product.sku, Product.stock, func.coalesce(ledger.c.total, 0))
        .outerjoin(ledger, ledger.c.product_id == Product.id)
        .where(Product.stock != func.coalesce(ledger.c.total, 0))
        .order_by(Product.id)
    ).all()
    return [{"product_id": r[0], "sku": r[1], "stock": r[2], "ledger": int(r[3])} for r in rows]
