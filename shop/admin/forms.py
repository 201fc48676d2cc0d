"""Flask-WTF forms for the staff pages.

Field rules live here; shop rules (unique SKU, stock compare-and-swap) live in
``shop.catalog.editing``, and the views map its errors back onto these fields.
Prices are typed in human units (``52.95``) and turned into integer cents here.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision
from flask import current_app
from flask_wtf import FlaskForm
from sqlalchemy import exists, select
from sqlalchemy.orm import aliased, joinedload
from wtforms import (
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    URL,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from shop.catalog.models import LOW_STOCK_THRESHOLD, PRODUCT_STATUSES, Category
from shop.extensions import db
from shop.money import parse_money

STATUS_CHOICES = [SelectChoice(s, s.capitalize()) for s in PRODUCT_STATUSES]


def cents_to_input(cents: int | None, currency: str | None = None) -> str:
    """Integer minor units to the plain amount a price field shows, e.g. 5295 -> ``"52.95"``."""
    if cents is None:
        return ""
    currency = currency or current_app.config["SHOP_CURRENCY"]
    digits = get_currency_precision(currency)
    return f"{Decimal(cents).scaleb(-digits):.{digits}f}"


def leaf_category_choices() -> list[SelectChoice]:
    """A choice ``(id, "Parent > Leaf")`` for every category without children, by full name.

    The first choice is ``("", "— No category —")``.
    """
    child = aliased(Category)
    leaves = db.session.scalars(
        select(Category)
        .where(~exists().where(child.parent_id == Category.id))
        .options(joinedload(Category.parent))
    ).all()
    choices = sorted((SelectChoice(str(c.id), c.full_name) for c in leaves), key=lambda c: c.label.lower())
    return [SelectChoice("", "— No category —"), *choices]


def _optional_int(value) -> int | None:
    """Coerce a select value to int, ``""``/None to None."""
    if value in (None, "", "None"):
        return None
    return int(value)


class ProductForm(FlaskForm):
    """Create or edit a product. ``price_cents`` holds the parsed price after validation."""

    sku = StringField("SKU", validators=[DataRequired(), Length(max=64)])
    name = StringField("Name", validators=[DataRequired(), Length(max=500)])
    brand = StringField("Brand", validators=[Optional(), Length(max=120)])
    model = StringField("Model", validators=[Optional(), Length(max=255)])
    category_id = SelectField("Category", coerce=_optional_int, validate_choice=True)
    price = StringField("Price", validators=[DataRequired()], description="In the shop currency, e.g. 52.95")
    stock = IntegerField(
        "Stock",
        validators=[
            InputRequired(message="Enter a whole number, 0 or more."),
            NumberRange(min=0, message="Must be 0 or more."),
        ],
    )
    expected_stock = IntegerField(widget=HiddenInput(), validators=[Optional()])
    status = SelectField("Status", choices=STATUS_CHOICES, default="draft")
    weight_grams = IntegerField(
        "Shipping weight (g)",
        validators=[Optional(), NumberRange(min=0, message="Must be 0 or more.")],
        description="Optional; without it, weight-priced shipping is not offered for the product.",
    )
    description = TextAreaField(
        "Description", validators=[Optional(), Length(max=20000)], render_kw={"rows": 6}
    )
    image_url = URLField(
        "Image URL",
        validators=[Optional(), Length(max=500), URL(require_tld=False, message="Enter an http(s) URL.")],
    )
    submit = SubmitField("Save")

    price_cents: int | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category_id.choices = leaf_category_choices()

    def validate_price(self, field) -> None:
        """Parse the human price into cents (``self.price_cents``) or explain what is wrong."""
        currency = current_app.config["SHOP_CURRENCY"]
        try:
            self.price_cents = parse_money(field.data, currency)
        except ValueError:
            digits = get_currency_precision(currency)
            raise ValidationError(
                f"Enter a price like 52.95 (a number, 0 or more, at most {digits} decimals)."
            ) from None

    def validate_image_url(self, field) -> None:
        """Only http(s) image links (no ``javascript:`` or ``data:`` URLs)."""
        if field.data and not field.data.lower().startswith(("http://", "https://")):
            raise ValidationError("Enter an http(s) URL.")

    def product_data(self) -> dict:
        """The validated fields in the shape ``shop.catalog.editing`` takes (price in cents,
        weight in grams or None)."""
        return {
            "sku": self.sku.data.strip(),
            "name": self.name.data.strip(),
            "brand": (self.brand.data or "").strip(),
            "model": (self.model.data or "").strip(),
            "category_id": self.category_id.data,
            "price_cents": self.price_cents,
            "stock": self.stock.data,
            "status": self.status.data,
            "weight_grams": self.weight_grams.data,
            "description": self.description.data or "",
            "image_url": (self.image_url.data or "").strip(),
        }

    def show_current_stock(self, current: int) -> None:
        """After a stale stock write: remember ``current`` as the figure shown.

        If the editor had not touched the stock field, it now shows ``current`` too, so
        saving again cannot undo the sale that moved it; a typed-in figure is kept.
        """
        if self.stock.data == self.expected_stock.data:
            self.stock.data = current
            self.stock.raw_data = [str(current)]
        self.expected_stock.data = current
        self.expected_stock.raw_data = [str(current)]


class ArchiveForm(FlaskForm):
    """Confirm archiving a product (CSRF-protected POST)."""

    confirm = HiddenField(default="yes")
    submit = SubmitField("Archive product")


class ProductFilterForm(FlaskForm):
    """The product list's search and filters (GET; no CSRF token in URLs)."""

    class Meta:
        """No CSRF token: the form is read from the query string."""

        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=200)])
    status = SelectField(
        "Status", choices=[SelectChoice("", "Any status"), *STATUS_CHOICES], validators=[Optional()]
    )
    stock = SelectField(
        "Stock",
        choices=[
            SelectChoice("", "Any stock"),
            SelectChoice("out", "Out of stock"),
            SelectChoice("low", f"Low (1–{LOW_STOCK_THRESHOLD})"),
        ],
        validators=[Optional()],
    )
    sort = SelectField(
        "Sort",
        choices=[
            SelectChoice(v, label)
            for v, label in (
                ("name", "Name"),
                ("newest", "Newest"),
                ("price", "Price"),
                ("stock", "Stock, lowest first"),
                ("sku", "SKU"),
            )
        ],
        default="name",
        validators=[Optional()],
    )


class RetryJobForm(FlaskForm):
    """Send a failed outbox message again (a CSRF-protected POST, one button per row)."""

    submit = SubmitField("Retry")
