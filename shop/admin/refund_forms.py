"""The staff refund form of an order: a quantity per line (0 to what is left of it), an
extra amount in human units, "put the items back in stock" and a reason.

The form is built per order (one quantity field per line, named ``qty_<line id>``);
the refund rules themselves (what is left, never more than was paid) stay in
``shop.payments.refunds``, whose errors the view puts back on these fields.
"""

from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from shop.money import parse_money


class RefundForm(FlaskForm):
    """The fields every refund has; :func:`refund_form` adds one quantity per order line.
    ``extra_cents`` holds the parsed extra amount after validation."""

    extra = StringField(
        "Extra amount",
        validators=[Optional(), Length(max=20)],
        description="On top of the items, e.g. shipping; or an amount alone.",
    )
    restock = BooleanField("Put the items back in stock")
    reason = TextAreaField("Reason", validators=[Optional(), Length(max=2000)])

    extra_cents = 0
    line_fields: list[tuple[object, str]] = []

    def validate_extra(self, field) -> None:
        """A non-negative amount in the shop's currency (``5``, ``4.95``)."""
        self.extra_cents = 0
        if not (field.data or "").strip():
            return
        try:
            self.extra_cents = parse_money(field.data, current_app.config["SHOP_CURRENCY"])
        except ValueError as exc:
            raise ValidationError("Enter an amount like 4.95.") from exc

    def line_quantities(self) -> list[tuple[int, int]]:
        """``(order_line_id, quantity)`` for every line with a quantity above 0."""
        return [(line.id, self[name].data) for line, name in self.line_fields if self[name].data]

    def field_names(self) -> dict[str, str]:
        """Service error keys -> the fields they belong on (for ``apply_errors``)."""
        names = {f"lines.{line.id}": name for line, name in self.line_fields}
        names["extra_cents"] = "extra"
        return names


def refund_form(order, left: dict[int, int], **kwargs) -> RefundForm:
    """The refund form of ``order``: per line a quantity from 0 to ``left[line.id]``.

    Args:
        left: units left to refund per order line id (``refundable(order)["lines"]``).
        kwargs: passed to the form (e.g. ``formdata=None`` for an empty form).
    """

    class OrderRefundForm(RefundForm):
        pass

    line_fields = []
    for line in order.lines:
        name = f"qty_{line.id}"
        most = left.get(line.id, 0)
        setattr(
            OrderRefundForm,
            name,
            IntegerField(
                f"Units of {line.sku} to refund",
                default=0,
                validators=[
                    InputRequired(message="Enter a number (0 for none)."),
                    NumberRange(0, most, message=f"From 0 to {most}."),
                ],
            ),
        )
        line_fields.append((line, name))
    OrderRefundForm.line_fields = line_fields
    return OrderRefundForm(**kwargs)
