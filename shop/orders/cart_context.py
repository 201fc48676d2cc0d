"""The cart item count shown in the navigation bar."""

from __future__ import annotations

from flask import session
from flask_login import current_user
from sqlalchemy import func, select

from shop.extensions import db


def cart_count() -> int:
    """Total quantity in the current visitor's cart (session cart for guests)."""
    from shop.orders.models import Cart, CartItem

    if current_user.is_authenticated:
        total = db.session.scalar(
            select(func.coalesce(func.sum(CartItem.quantity), 0))
            .join(Cart, Cart.id == CartItem.cart_id)
            .where(Cart.user_id == current_user.id)
        )
        return int(total or 0)
    return sum(int(q) for q in (session.get("cart") or {}).values())
