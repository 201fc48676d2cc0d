"""Schemathesis hooks: the API rules an OpenAPI 3.0 document can only state in words.

JSON Schema describes each parameter and field on its own; a few rules of the shop relate
several of them or need a list the document does not carry. The document states them in
descriptions (and lists the 422 they cause); here generated *valid* requests that break
them are dropped before they are sent, using the app's own rule functions, so that the
positive-data check tests everything else:

- ``GET /products``: ``min_price`` must not be more than ``max_price``;
- ``GET /search``: ``min_price``/``max_price`` must be the bounds of one price band, and
  that band must be ``price`` when both are given;
- ``PATCH /products/{slug}``: ``stock`` comes with ``expected_stock``;
- ``POST /auth/register``: an address email-validator accepts, and a password that is not
  common and not the address;
- ``POST /orders/{number}/refunds``: each line is named by ``sku`` or by ``line_id`` (one
  of them), and the refund gives something back (a line, or a positive ``extra_cents``);
- ``POST /orders``: an ``Idempotency-Key`` names one request; sent again with another body
  it is refused (422). Generated requests drawn independently would reuse short keys, so
  each valid one gets a key of its own (the replay itself is tested in
  ``tests/test_checkout_flows.py``).
- ``POST /orders``, ``POST /addresses``, ``PATCH /addresses/{address_id}``: an address must
  fit its country's rules (postal code format and the state's range, a region where the
  country has them). A generated address almost never does, so a valid request's address
  that the app's own check refuses gets a known good place (city, region, postal code,
  country) instead; a change to any part of the place changes all four, because the saved
  address it applies to is not known here (the country rules are tested in
  ``tests/test_addresses_validation.py``).

Loaded by ``tests/test_schemathesis.py`` and, for a run against a server, by the CLI
through ``SCHEMATHESIS_HOOKS=tests.schemathesis_hooks``.
"""

from __future__ import annotations

import uuid

import schemathesis
from marshmallow import ValidationError

from shop.addresses.validation import ADDRESS_FIELDS, check_country_rules
from shop.auth.passwords import password_problems
from shop.auth.services import validate_email_address
from shop.exceptions import ValidationFailed
from shop.search.schemas import band_for_range


def _number(value):
    """A query value as an int (generated values may be ints or their text), else None."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _products_rules(query: dict) -> bool:
    low, high = _number(query.get("min_price")), _number(query.get("max_price"))
    return not (low is not None and high is not None and low > high)


def _search_rules(query: dict) -> bool:
    low, high = _number(query.get("min_price")), _number(query.get("max_price"))
    try:
        band = band_for_range(low, high)
    except ValidationError:
        return False
    price = query.get("price")
    return not (band and isinstance(price, str) and price != band)


def _register_rules(body) -> bool:
    if not isinstance(body, dict):
        return True
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str):
        return True
    try:
        validate_email_address(email)
    except ValidationFailed:
        return False
    return not password_problems(password, email)


def _product_patch_rules(body) -> bool:
    return not (isinstance(body, dict) and "stock" in body and "expected_stock" not in body)


def _refund_rules(body) -> bool:
    if not isinstance(body, dict):
        return True
    lines = body.get("lines") or []
    named_once = all(not isinstance(ln, dict) or (("sku" in ln) != ("line_id" in ln)) for ln in lines)
    extra = body.get("extra_cents")
    return named_once and bool(lines or (isinstance(extra, int) and extra > 0))


#: A place that fits its country's rules, put in place of one that does not.
GOOD_PLACE = {"city": "Arlington", "region": "VA", "postal_code": "22202", "country": "US"}


def _fits_its_country(address: dict) -> bool:
    """The app's own check of a (schema-valid) address against its country's rules."""
    full = {name: str(address.get(name) or "").strip() for name in ADDRESS_FIELDS}
    full["country"] = full["country"].upper()
    return not check_country_rules(full)[1]


def _good_address(address):
    """A generated address, or the same with :data:`GOOD_PLACE` if its country refuses it."""
    if isinstance(address, dict) and not _fits_its_country(address):
        return {**address, **GOOD_PLACE}
    return address


def _good_address_change(body):
    """A generated change: if it touches the place at all, the whole place is :data:`GOOD_PLACE`."""
    if isinstance(body, dict) and set(body) & set(GOOD_PLACE):
        return {**body, **GOOD_PLACE}
    return body


def _good_order(body):
    """An order request whose shipping address fits its country."""
    if isinstance(body, dict) and "shipping_address" in body:
        return {**body, "shipping_address": _good_address(body["shipping_address"])}
    return body


#: Bodies of valid requests made to fit the rules a document states only in words.
BODY_MAPS = {
    ("POST", "/api/v1/orders"): _good_order,
    ("POST", "/api/v1/addresses"): _good_address,
    ("PATCH", "/api/v1/addresses/{address_id}"): _good_address_change,
}

RULES = {
    ("GET", "/api/v1/products"): lambda case: _products_rules(case.query or {}),
    ("PATCH", "/api/v1/products/{slug}"): lambda case: _product_patch_rules(case.body),
    ("GET", "/api/v1/search"): lambda case: _search_rules(case.query or {}),
    ("POST", "/api/v1/auth/register"): lambda case: _register_rules(case.body),
    ("POST", "/api/v1/orders/{number}/refunds"): lambda case: _refund_rules(case.body),
}


def _meant_valid(case) -> bool:
    meta = case.meta
    return meta is None or meta.generation.mode.is_positive


@schemathesis.hook
def filter_case(context, case) -> bool:
    """Keep a case unless it is meant to be valid and breaks a rule stated only in words."""
    if not _meant_valid(case):
        return True  # an invalid request is refused however many rules it breaks
    rule = RULES.get((case.operation.method.upper(), case.operation.path))
    return rule is None or rule(case)


@schemathesis.hook
def map_case(context, case):
    """Make a valid order request's Idempotency-Key its own (still 1-255 printable characters),
    and a valid request's address fit its country (:data:`BODY_MAPS`)."""
    if not _meant_valid(case):
        return case
    key = (case.headers or {}).get("Idempotency-Key")
    if case.operation.path == "/api/v1/orders" and isinstance(key, str) and key:
        case.headers["Idempotency-Key"] = f"{key[:222]}.{uuid.uuid4().hex}"
    body_map = BODY_MAPS.get((case.operation.method.upper(), case.operation.path))
    if body_map is not None:
        case.body = body_map(case.body)
    return case
