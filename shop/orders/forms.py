"""Cart, checkout, order look-up and staff status forms (Flask-WTF, CSRF protected).

Address rules come from :mod:`shop.addresses.validation` so the page, the address book and
the API accept the same addresses; stock and price rules stay in the services.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from shop.addresses.validation import ADDRESS_RULES, COUNTRIES, POSTAL_CODE_PATTERN
from shop.orders.cart_lines import max_quantity


class CartQuantity(NumberRange):
    """``NumberRange`` up to the shop's one cart-line limit (``MAX_CART_QUANTITY``, read at
    validation time through :func:`shop.orders.cart_lines.max_quantity`, as the cart
    service and the quantity boxes' ``max`` do)."""

    def __init__(self, min: int):
        super().__init__(min=min)

    def __call__(self, form, field):
        """Check the field against ``min`` and the limit in force (raises ValidationError)."""
        self.max = max_quantity()
        self.message = None
        super().__call__(form, field)


def _address_validators(field: str) -> list:
    """Required/optional plus the maximum length for an address field."""
    required, max_len = ADDRESS_RULES[field]
    return [DataRequired() if required else Optional(), Length(max=max_len)]


def _optional_int(value):
    """A submitted id as an int; None when empty or not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _strip(value):
    """Trim a submitted string."""
    return value.strip() if isinstance(value, str) else value


class AddToCartForm(FlaskForm):
    """Product page: add ``quantity`` of ``sku``."""

    sku = StringField("SKU", validators=[DataRequired(), Length(max=64)], filters=[_strip])
    quantity = IntegerField("Quantity", default=1, validators=[InputRequired(), CartQuantity(min=1)])


class CartQuantityForm(FlaskForm):
    """Cart page: a line's new quantity (0 removes it)."""

    quantity = IntegerField("Quantity", validators=[InputRequired(), CartQuantity(min=0)])


class CheckoutForm(FlaskForm):
    """Checkout: shipping address, payment provider and (guests) e-mail address."""

    email = StringField("E-mail address", validators=[Optional(), Email(), Length(max=254)], filters=[_strip])
    name = StringField("Full name", validators=_address_validators("name"), filters=[_strip])
    line1 = StringField("Address", validators=_address_validators("line1"), filters=[_strip])
    line2 = StringField(
        "Address line 2 (optional)", validators=_address_validators("line2"), filters=[_strip]
    )
    city = StringField("City", validators=_address_validators("city"), filters=[_strip])
    region = StringField(
        "State / province / region", validators=_address_validators("region"), filters=[_strip]
    )
    postal_code = StringField(
        "Postal code",
        filters=[_strip],
        validators=_address_validators("postal_code")
        + [Regexp(POSTAL_CODE_PATTERN, message="Letters, digits, spaces and dashes only.")],
    )
    country = SelectField(
        "Country",
        choices=[SelectChoice("", "Choose a country")]
        + [SelectChoice(code, name) for code, name in COUNTRIES.items()],
        validators=[DataRequired(message="Choose a country.")],
    )
    #: A customer's saved address to ship to (its id; "" for a typed one). The page copies
    #: its fields into the form (script), or "Update totals" does (without script).
    saved_address = RadioField("Your saved addresses", coerce=_optional_int, validate_choice=False)
    save_address = BooleanField("Save this address to my address book")
    shipping_method = RadioField("Shipping method", coerce=_optional_int, validate_choice=False)
    discount_code = StringField(
        "Discount code (optional)", validators=[Optional(), Length(max=40)], filters=[_strip]
    )
    payment_provider = RadioField("Payment", validators=[DataRequired(message="Choose how to pay.")])
    checkout_token = HiddenField()
    expected_total_cents = HiddenField()
    #: What the shown totals were computed for (country, region, method, code); a submit
    #: for anything else shows the new totals instead of placing the order.
    quoted_for = HiddenField()

    def address(self) -> dict:
        """The address fields as the plain dict the checkout service takes."""
        return {name: getattr(self, name).data or "" for name in ADDRESS_RULES}


class DiscountCodeForm(FlaskForm):
    """Cart page: a discount code to keep on the cart."""

    discount_code = StringField(
        "Discount code",
        validators=[DataRequired(message="Enter a discount code."), Length(max=40)],
        filters=[_strip],
    )


class GuestLookupForm(FlaskForm):
    """Find a guest order by its number and the e-mail address used at checkout."""

    number = StringField("Order number", validators=[DataRequired(), Length(max=32)], filters=[_strip])
    email = StringField(
        "E-mail address", validators=[DataRequired(), Email(), Length(max=254)], filters=[_strip]
    )


class OrderStatusForm(FlaskForm):
    """Staff: move an order to another status, with a note."""

    to_status = SelectField("New status", validators=[DataRequired()])
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)], filters=[_strip])
