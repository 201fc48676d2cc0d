"""The rows of a price breakdown as shoppers read them, for the pages and the mails alike.

A breakdown is any object with ``subtotal_cents``, ``discount_cents``, ``discount_code``,
``shipping_cents``, ``shipping_method_name``, ``tax_cents``, ``tax_name``, ``tax_rate_bp``,
``prices_include_tax`` and ``total_cents``: a placed :class:`shop.orders.models.Order`, or
the totals of a cart before checkout. The Jinja macro ``breakdown_rows`` in
``templates/orders/_macros.html`` and the order confirmation mail both show these rows, so
a page and a mail never word the same order differently.
"""

from __future__ import annotations

from dataclasses import dataclass

from shop.money import format_rate


@dataclass(frozen=True)
class BreakdownRow:
    """One row: ``kind`` (subtotal, discount, shipping, tax, total), the ``label`` shown,
    ``cents`` (negative for the discount) and ``text`` shown instead of an amount ("Free"),
    or ``""``. ``added`` is False for tax already included in the prices (it is shown,
    not added)."""

    kind: str
    label: str
    cents: int
    text: str = ""
    added: bool = True


def tax_label(b) -> str:
    """``"Sales tax 8.88%"``, or ``"Includes VAT 20%"`` when the prices include the tax."""
    name = b.tax_name or "Tax"
    rate = f" {format_rate(b.tax_rate_bp)}" if b.tax_name or b.tax_rate_bp else ""
    return f"Includes {name}{rate}" if b.prices_include_tax else f"{name}{rate}"


def breakdown_rows(b) -> list[BreakdownRow]:
    """The rows of breakdown ``b``: subtotal; the discount (with its code, as a negative
    amount) when there is one; shipping (with the method's name, "Free" at 0); the tax
    (with its name and rate) when it has a name or an amount; the total.

    A breakdown without discount, tax or shipping method (an order placed before these
    existed) gives subtotal, shipping and total, as the order pages always showed.
    """
    rows = [BreakdownRow("subtotal", "Subtotal", b.subtotal_cents)]
    if b.discount_cents:
        label = f"Discount ({b.discount_code})" if b.discount_code else "Discount"
        rows.append(BreakdownRow("discount", label, -b.discount_cents))
    shipping = f"Shipping ({b.shipping_method_name})" if b.shipping_method_name else "Shipping"
    rows.append(BreakdownRow("shipping", shipping, b.shipping_cents, "" if b.shipping_cents else "Free"))
    if b.tax_name or b.tax_cents:
        rows.append(BreakdownRow("tax", tax_label(b), b.tax_cents, added=not b.prices_include_tax))
    rows.append(BreakdownRow("total", "Total", b.total_cents))
    return rows
