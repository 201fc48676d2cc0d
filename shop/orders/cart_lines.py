"""Cart building blocks: quantity and stock checks, the reviewed line and cart view
objects, and the re-check of lines against the catalog's current status, price and stock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from shop.catalog.models import Product
from shop.exceptions import NotFound, OutOfStock, ValidationFailed
from shop.extensions import db
from shop.money import format_money


def _money(cents: int) -> str:
    """Format cents in the shop currency for a notice."""
    cfg = current_app.config
    return format_money(cents, cfg["SHOP_CURRENCY"], cfg["SHOP_LOCALE"])


def max_quantity() -> int:
    """The most units of one product a cart line may hold."""
    return int(current_app.config.get("MAX_CART_QUANTITY", 99))


def check_quantity(quantity, allow_zero: bool = False) -> int:
    """Validate a requested quantity and return it as an int.

    Raises:
        ValidationFailed: not an integer, below 1 (below 0 with ``allow_zero``), or above
            ``MAX_CART_QUANTITY``.
    """
    try:
        quantity = int(quantity)
    except (TypeError, ValueError):
        raise ValidationFailed(
            "Quantity must be a whole number.", {"quantity": ["Not a whole number."]}
        ) from None
    low, high = (0 if allow_zero else 1), max_quantity()
    if not low <= quantity <= high:
        raise ValidationFailed(
            f"Quantity must be between {low} and {high}.",
            {"quantity": [f"Must be between {low} and {high}."]},
        )
    return quantity


def product_for_sku(sku: str) -> Product:
    """The active product with this SKU.

    Raises:
        NotFound: no such SKU, or the product is not on sale.
    """
    product = db.session.scalar(select(Product).where(Product.sku == (sku or "").strip()))
    if product is None or not product.is_active:
        raise NotFound(f"No product with SKU {sku!r} is on sale.", {"sku": ["Unknown SKU."]})
    return product


def ensure_stock(product: Product, wanted: int, already: int = 0) -> None:
    """Refuse a cart quantity the shop cannot currently sell.

    Raises:
        OutOfStock: ``wanted`` exceeds the stock; the message names the product.
    """
    if wanted <= product.stock:
        return
    if product.stock == 0:
        msg = f"{product.name} is sold out."
    else:
        msg = f"Only {product.stock} left of {product.name}"
        msg += f" (you already have {already} in your cart)." if already else "."
    raise OutOfStock(msg, {"quantity": [f"Only {product.stock} left."]})


# --- Reviewing lines against the catalog ---------------------------------------------------


@dataclass
class CartLine:
    """One cart line as shown to the shopper.

    ``id`` is the :class:`CartItem` id.
    Money in cents; ``notices`` says what changed since the shopper last looked.
    """

    id: int
    product: Product
    quantity: int
    seen_price_cents: int
    notices: list[str] = field(default_factory=list)

    @property
    def unit_price_cents(self) -> int:
        """The current price."""
        return self.product.price_cents

    @property
    def line_total_cents(self) -> int:
        """Current price times quantity."""
        return self.product.price_cents * self.quantity

    @property
    def available(self) -> bool:
        """True when the line can be bought as it stands."""
        return self.product.is_active and 0 < self.quantity <= self.product.stock


@dataclass
class CartView:
    """A reviewed cart: lines, what changed, and totals in cents."""

    lines: list[CartLine]
    notices: list[str]

    @property
    def subtotal_cents(self) -> int:
        """Sum of the line totals at current prices."""
        return sum(line.line_total_cents for line in self.lines)

    @property
    def item_count(self) -> int:
        """Total units in the cart."""
        return sum(line.quantity for line in self.lines)

    @property
    def can_checkout(self) -> bool:
        """True when the cart is not empty and every line can be bought."""
        return bool(self.lines) and all(line.available for line in self.lines)


def review_lines(lines: list[CartLine], acknowledge: bool) -> tuple[list[CartLine], list[str]]:
    """Check each line against the product's current status, price and stock.

    With ``acknowledge`` the lines are brought up to date as the shopper now sees them:
    the seen price becomes the current one, a quantity above the stock is lowered to it,
    and products no longer on sale are dropped. Without it, nothing changes and the
    notices describe the differences.

    Returns:
        ``(kept_lines, notices)``; each notice is also on its line's ``notices``.
    """
    kept: list[CartLine] = []
    notices: list[str] = []
    for line in lines:
        if not line.product.is_active:
            msg = f"{line.product.name} is no longer sold" + (
                " and was removed from your cart." if acknowledge else "."
            )
            line.notices.append(msg)
            notices.append(msg)
            if acknowledge:
                continue
        else:
            _review_price(line, acknowledge)
            _review_stock(line, acknowledge)
            notices.extend(line.notices)
        kept.append(line)
    return kept, notices


def _review_price(line: CartLine, acknowledge: bool) -> None:
    """Note a price that changed since the shopper saw it (and take it as seen)."""
    product = line.product
    if line.seen_price_cents != product.price_cents:
        line.notices.append(
            f"The price of {product.name} changed from {_money(line.seen_price_cents)} "
            f"to {_money(product.price_cents)}."
        )
        if acknowledge:
            line.seen_price_cents = product.price_cents


def _review_stock(line: CartLine, acknowledge: bool) -> None:
    """Note a sold-out product or a quantity above the stock (lowered to it on acknowledge)."""
    product = line.product
    if product.stock == 0:
        line.notices.append(f"{product.name} is sold out.")
    elif line.quantity > product.stock:
        if acknowledge:
            line.notices.append(
                f"Only {product.stock} left of {product.name}: "
                f"quantity changed from {line.quantity} to {product.stock}."
            )
            line.quantity = product.stock
        else:
            line.notices.append(
                f"Only {product.stock} left of {product.name} (you have {line.quantity} in your cart)."
            )
