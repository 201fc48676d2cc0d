"""Flask-WTF forms for the staff pricing pages: shipping methods, tax rates, discount codes.

Human units only here, at the edge: money typed as ``4.95`` becomes cents, percentages
typed as ``12.5`` become basis points (1250), bands are typed one ``up to: price`` pair a
line, countries as comma-separated codes. The shop's rules (valid country codes, one rate
per country and region, unique codes ...) are checked by the services in
``shop.pricing``; the views put their errors back on these fields.
"""

from __future__ import annotations

import re
from datetime import timezone

import pycountry
from babel.numbers import get_currency_precision
from flask import current_app
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from shop.admin.forms import _optional_int, cents_to_input
from shop.catalog.models import Category
from shop.extensions import db
from shop.money import parse_money, parse_percent, rate_to_input

RATE_KIND_CHOICES = [
    SelectChoice("flat", "Flat price"),
    SelectChoice("subtotal", "By order subtotal"),
    SelectChoice("weight", "By weight"),
]
DISCOUNT_KIND_CHOICES = [
    SelectChoice("percentage", "Percentage off"),
    SelectChoice("fixed", "Fixed amount off"),
]
_LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
_BAND_LINE = re.compile(r"^\s*(?:up\s+to\s+)?([^:]+?)\s*:\s*(.+?)\s*$", re.IGNORECASE)


def _money(text: str) -> int:
    """Human money in the shop currency to cents.

    Raises:
        ValidationError: not an amount of at most the currency's decimals.
    """
    currency = current_app.config["SHOP_CURRENCY"]
    try:
        return parse_money(text, currency)
    except ValueError:
        digits = get_currency_precision(currency)
        raise ValidationError(f"Enter an amount like 4.95 (0 or more, at most {digits} decimals).") from None


def _optional_money(field) -> int | None:
    """The field's amount in cents, or None when left empty."""
    return _money(field.data) if (field.data or "").strip() else None


def _grams(text: str) -> int:
    """A whole number of grams.

    Raises:
        ValidationError: not a whole number.
    """
    raw = text.strip().lower().removesuffix("g").strip().replace(",", "")
    if not raw.isdigit():
        raise ValidationError(f"{text!r} is not a whole number of grams.")
    return int(raw)


def parse_bands(text: str, rate_kind: str) -> list[list[int]]:
    """Parse bands typed one ``up to: price`` a line into ``[[up_to, price_cents], ...]``.

    ``up_to`` is money for the ``subtotal`` kind (``50.00: 4.95``) and grams for ``weight``
    (``1000: 4.95``); an ``up to`` prefix is allowed. Blank lines are skipped; the order
    is kept (the service sorts and checks it).

    Raises:
        ValidationError: a line is not ``up to: price`` (the message names the line).
    """
    bands = []
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        match = _BAND_LINE.match(line)
        if match is None:
            raise ValidationError(f"Line {number}: write 'up to: price', e.g. 50.00: 4.95.")
        try:
            up_to = _grams(match[1]) if rate_kind == "weight" else _money(match[1])
            price = _money(match[2])
        except ValidationError as exc:
            raise ValidationError(f"Line {number}: {exc}") from None
        bands.append([up_to, price])
    return bands


def bands_to_input(bands: list[list[int]], rate_kind: str) -> str:
    """Bands as the text the form shows, one ``up to: price`` a line (the reverse of :func:`parse_bands`)."""
    return "\n".join(
        f"{up_to if rate_kind == 'weight' else cents_to_input(up_to)}: {cents_to_input(price)}"
        for up_to, price in bands or []
    )


def country_choices() -> list[SelectChoice]:
    """Every ISO 3166-1 country as ``("DE", "DE — Germany")``, by code."""
    countries = sorted(pycountry.countries, key=lambda c: c.alpha_2)
    return [SelectChoice(c.alpha_2, f"{c.alpha_2} — {getattr(c, 'common_name', c.name)}") for c in countries]


def category_choices() -> list[SelectChoice]:
    """``("", "— Every product —")`` then every category (a code for a parent covers its
    children) as ``(id, "Parent > Child")``, by full name."""
    categories = db.session.scalars(select(Category).options(joinedload(Category.parent))).all()
    choices = sorted(
        (SelectChoice(str(c.id), c.full_name) for c in categories), key=lambda c: c.label.lower()
    )
    return [SelectChoice("", "— Every product —"), *choices]


def _utc(value):
    """A naive form datetime (typed as UTC) made timezone-aware, or None."""
    return value.replace(tzinfo=timezone.utc) if value is not None else None


def _as_typed(value):
    """An aware datetime as the naive UTC time the form shows, or None."""
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value is not None else None


class ShippingMethodForm(FlaskForm):
    """Create or edit a shipping method (prices in human units, bands as text)."""

    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    description = StringField(
        "Description",
        validators=[Optional(), Length(max=300)],
        description="Shown to shoppers, e.g. 2–4 days.",
    )
    countries = StringField(
        "Countries",
        validators=[Optional(), Length(max=2000)],
        description="Comma-separated ISO codes, e.g. US, CA. Empty: every country.",
    )
    rate_kind = SelectField("Price by", choices=RATE_KIND_CHOICES, default="flat")
    price = StringField("Flat price", description="For the flat kind, e.g. 4.95.")
    bands = TextAreaField(
        "Bands",
        render_kw={"rows": 4},
        description="For the subtotal and weight kinds: one 'up to: price' per line, e.g. 50.00: 4.95 "
        "(subtotal) or 1000: 4.95 (grams). Orders beyond the last band cannot use the method.",
    )
    free_above = StringField("Free from subtotal", description="Optional, e.g. 100.00.")
    min_days = IntegerField(
        "Min. days", default=1, validators=[InputRequired("Enter a whole number."), NumberRange(min=0)]
    )
    max_days = IntegerField(
        "Max. days", default=5, validators=[InputRequired("Enter a whole number."), NumberRange(min=0)]
    )
    position = IntegerField("Position", default=0, validators=[Optional()], description="Lower comes first.")
    is_active = BooleanField("Active", default=True)
    submit = SubmitField("Save")

    price_cents: int | None = None
    free_above_cents: int | None = None
    band_list: list[list[int]] | None = None

    @classmethod
    def for_method(cls, method) -> ShippingMethodForm:
        """The form filled with a method's values, in human units."""
        fields = ("name", "description", "rate_kind", "min_days", "max_days", "position", "is_active")
        return cls(
            data={f: getattr(method, f) for f in fields},
            countries=", ".join(method.countries or []),
            price=cents_to_input(method.price_cents),
            bands=bands_to_input(method.bands, method.rate_kind),
            free_above=cents_to_input(method.free_above_cents),
        )

    def validate_price(self, field) -> None:
        """The flat price in cents (required for the flat kind)."""
        if not (field.data or "").strip() and self.rate_kind.data == "flat":
            raise ValidationError("Enter the flat price, e.g. 4.95 (0 for free).")
        self.price_cents = _optional_money(field)

    def validate_bands(self, field) -> None:
        """Parse the bands for the chosen kind."""
        self.band_list = parse_bands(field.data, self.rate_kind.data)

    def validate_free_above(self, field) -> None:
        """The optional free-shipping threshold in cents."""
        self.free_above_cents = _optional_money(field)

    def method_data(self) -> dict:
        """The fields in the shape ``shop.pricing.services`` takes (cents, a list of codes)."""
        codes = [c for c in re.split(r"[\s,;]+", self.countries.data or "") if c]
        return {
            "name": self.name.data,
            "description": self.description.data or "",
            "countries": codes,
            "rate_kind": self.rate_kind.data,
            "price_cents": self.price_cents or 0,
            "bands": self.band_list or [],
            "free_above_cents": self.free_above_cents,
            "min_days": self.min_days.data,
            "max_days": self.max_days.data,
            "is_active": self.is_active.data,
            "position": self.position.data or 0,
        }


class TaxRateForm(FlaskForm):
    """Create or edit a tax rate (the rate typed as a percentage)."""

    country = SelectField("Country", validators=[DataRequired()])
    region = StringField(
        "Region",
        validators=[Optional(), Length(max=100)],
        description="Empty for the whole country; e.g. NY for a US state.",
    )
    name = StringField(
        "Name", validators=[DataRequired(), Length(max=50)], description="As shoppers see it: VAT, Sales tax."
    )
    rate = StringField("Rate (%)", validators=[DataRequired()], description="e.g. 20 or 8.88")
    is_active = BooleanField("Active", default=True)
    submit = SubmitField("Save")

    rate_bp: int | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()

    @classmethod
    def for_rate(cls, rate) -> TaxRateForm:
        """The form filled with a rate's values (the rate as a percentage)."""
        fields = ("country", "region", "name", "is_active")
        return cls(data={f: getattr(rate, f) for f in fields}, rate=rate_to_input(rate.rate_bp))

    def validate_rate(self, field) -> None:
        """The percentage in basis points (``self.rate_bp``)."""
        try:
            self.rate_bp = parse_percent(field.data)
        except ValueError:
            raise ValidationError(
                "Enter a percentage from 0 to 100 with at most 2 decimals, e.g. 20 or 8.88."
            ) from None

    def rate_data(self) -> dict:
        """The fields in the shape ``shop.pricing.services`` takes (basis points)."""
        return {
            "country": self.country.data,
            "region": self.region.data or "",
            "name": self.name.data,
            "rate_bp": self.rate_bp,
            "is_active": self.is_active.data,
        }


class DiscountCodeForm(FlaskForm):
    """Create or edit a discount code (the value as percent or money, by kind; times in UTC)."""

    code = StringField(
        "Code",
        validators=[DataRequired(), Length(max=40)],
        description="Letters, digits, - and _; stored in capitals.",
    )
    description = StringField(
        "Description", validators=[Optional(), Length(max=200)], description="For staff."
    )
    kind = SelectField("Kind", choices=DISCOUNT_KIND_CHOICES, default="percentage")
    value = StringField(
        "Value",
        validators=[DataRequired()],
        description="Percent off (e.g. 10 or 12.5), or the amount off (e.g. 5.00).",
    )
    category_id = SelectField("Only for category", coerce=_optional_int, validate_choice=True)
    min_subtotal = StringField("Minimum subtotal", description="Optional, e.g. 50.00.")
    # The browser's datetime-local value first (it is also how the field shows a value).
    starts_at = DateTimeLocalField("Starts (UTC)", format=_LOCAL_FORMATS, validators=[Optional()])
    ends_at = DateTimeLocalField("Ends (UTC)", format=_LOCAL_FORMATS, validators=[Optional()])
    max_uses = IntegerField(
        "Max. uses", validators=[Optional(), NumberRange(min=1)], description="Empty: no limit."
    )
    max_uses_per_customer = IntegerField(
        "Max. uses per customer", validators=[Optional(), NumberRange(min=1)], description="Empty: no limit."
    )
    is_active = BooleanField("Active", default=True)
    submit = SubmitField("Save")

    value_number: int | None = None
    min_subtotal_cents: int | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category_id.choices = category_choices()

    @classmethod
    def for_code(cls, code) -> DiscountCodeForm:
        """The form filled with a code's values (value as percent or money; times in UTC)."""
        value = rate_to_input(code.value) if code.kind == "percentage" else cents_to_input(code.value)
        fields = (
            "code",
            "description",
            "kind",
            "category_id",
            "max_uses",
            "max_uses_per_customer",
            "is_active",
        )
        return cls(
            data={f: getattr(code, f) for f in fields},
            starts_at=_as_typed(code.starts_at),
            ends_at=_as_typed(code.ends_at),
            value=value,
            min_subtotal=cents_to_input(code.min_subtotal_cents) if code.min_subtotal_cents else "",
        )

    def validate_value(self, field) -> None:
        """Basis points for a percentage code, cents for a fixed one (``self.value_number``)."""
        if self.kind.data == "fixed":
            self.value_number = _money(field.data)
            return
        try:
            self.value_number = parse_percent(field.data)
        except ValueError:
            raise ValidationError(
                "Enter a percentage up to 100 with at most 2 decimals, e.g. 10 or 12.5."
            ) from None

    def validate_min_subtotal(self, field) -> None:
        """The optional minimum subtotal in cents."""
        self.min_subtotal_cents = _optional_money(field)

    def code_data(self) -> dict:
        """The fields in the shape ``shop.pricing.code_services`` takes (cents, basis points, aware UTC)."""
        return {
            "code": self.code.data,
            "description": self.description.data or "",
            "kind": self.kind.data,
            "value": self.value_number,
            "category_id": self.category_id.data,
            "min_subtotal_cents": self.min_subtotal_cents or 0,
            "starts_at": _utc(self.starts_at.data),
            "ends_at": _utc(self.ends_at.data),
            "max_uses": self.max_uses.data,
            "max_uses_per_customer": self.max_uses_per_customer.data,
            "is_active": self.is_active.data,
        }


class ConfirmDeleteForm(FlaskForm):
    """Confirm a deletion: a CSRF-protected POST from the confirmation page, carrying its
    ``confirm`` field (a bare POST deletes nothing)."""

    confirm = HiddenField(validators=[DataRequired()])
    submit = SubmitField("Delete")
