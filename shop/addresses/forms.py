"""Address book forms (Flask-WTF, CSRF protected).

The field limits come from :data:`shop.addresses.validation.ADDRESS_RULES`, as in the
checkout form; the country's rules are applied by the services, whose errors the views put
on the fields (``shop.webforms.apply_errors``).
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from shop.addresses.validation import ADDRESS_FIELDS, ADDRESS_RULES, COUNTRIES, POSTAL_CODE_PATTERN


def _validators(field: str) -> list:
    """Required/optional plus the maximum length of an address field."""
    required, max_len = ADDRESS_RULES[field]
    return [DataRequired() if required else Optional(), Length(max=max_len)]


def _strip(value):
    """Trim a submitted string."""
    return value.strip() if isinstance(value, str) else value


class AddressForm(FlaskForm):
    """Add or edit a saved address; ``is_default`` makes it the default address."""

    name = StringField("Full name", validators=_validators("name"), filters=[_strip])
    line1 = StringField("Address", validators=_validators("line1"), filters=[_strip])
    line2 = StringField("Address line 2 (optional)", validators=_validators("line2"), filters=[_strip])
    city = StringField("City", validators=_validators("city"), filters=[_strip])
    region = StringField(
        "State / province / region",
        validators=_validators("region"),
        filters=[_strip],
        description="Needed where the country has them, e.g. a US state (VA or Virginia).",
    )
    postal_code = StringField(
        "Postal code",
        filters=[_strip],
        validators=_validators("postal_code")
        + [Regexp(POSTAL_CODE_PATTERN, message="Letters, digits, spaces and dashes only.")],
    )
    country = SelectField(
        "Country",
        choices=[SelectChoice("", "Choose a country")]
        + [SelectChoice(code, name) for code, name in COUNTRIES.items()],
        validators=[DataRequired(message="Choose a country.")],
    )
    is_default = BooleanField("Use as my default address")

    def address(self) -> dict:
        """The address fields as the plain dict the services take."""
        return {name: getattr(self, name).data or "" for name in ADDRESS_FIELDS}
