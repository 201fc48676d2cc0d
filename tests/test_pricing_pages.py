"""Shipping, tax and discount codes as shoppers and scripts meet them: the cart's estimate
and code, checkout's methods and re-quote, and the same figures over HTML and JSON.

Figures are worked out by hand in each test: a $100.00 product, Standard shipping $4.95,
Express $14.95 (US only), Virginia sales tax 6 % (600 bp) over a US rate of 5 %, a code
SAVE10 for 10 %.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shop.dbtypes import utcnow
from shop.orders.models import Order
from shop.pricing.models import DiscountCode, ShippingMethod, TaxRate
from tests.factories import ADDRESS, bearer_headers, make_product, make_user, sign_in


@pytest.fixture
def priced(db):
    """A $100.00 product, two US methods and one for Germany, US and Virginia tax rates, a code."""
    product = make_product(price_cents=10_000, stock=10)
    standard = ShippingMethod(
        name="Standard", countries=["US"], rate_kind="flat", price_cents=495, position=1
    )
    express = ShippingMethod(
        name="Express",
        countries=["US"],
        rate_kind="flat",
        price_cents=1495,
        min_days=1,
        max_days=1,
        position=2,
    )
    europe = ShippingMethod(name="Europe", countries=["DE"], rate_kind="flat", price_cents=990)
    db.session.add_all(
        [
            standard,
            express,
            europe,
            TaxRate(country="US", region="", name="Sales tax", rate_bp=500),
            TaxRate(country="US", region="VA", name="Sales tax", rate_bp=600),
            DiscountCode(code="SAVE10", kind="percentage", value=1000),
        ]
    )
    db.session.commit()
    return {"product": product, "standard": standard.id, "express": express.id, "europe": europe.id}


def _text(resp) -> str:
    """The page as a reader sees it: tags dropped, entities decoded, whitespace collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", resp.get_data(as_text=True), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _hidden(body: str) -> dict:
    """Every hidden input of a page: name -> value."""
    found = {}
    for tag in re.findall(r"<input[^>]*>", body):
        if 'type="hidden"' in tag:
            name = re.search(r'name="([^"]+)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            if name:
                found[name.group(1)] = value.group(1) if value else ""
    return found


def _order_count(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Order.id)))


def _add(client, product, quantity=1):
    resp = client.post("/cart/add", data={"sku": product.sku, "quantity": str(quantity)})
    assert resp.status_code in (302, 303)


def test_cart_page_estimates_shipping_and_tax_for_the_chosen_country(client, priced):
    _add(client, priced["product"])
    text = _text(client.get("/cart?country=US"))
    # US: cheapest is Standard $4.95; tax 5 % of 100.00 = 5.00, of 4.95 = 0.2475 -> 0.25.
    assert "Shipping (Standard) $4.95" in text
    assert "Sales tax 5% $5.25" in text
    assert "Total $110.20" in text  # 100.00 + 4.95 + 5.25
    text = _text(client.get("/cart?country=DE"))
    # Germany: the Europe method, no tax rate there.
    assert "Shipping (Europe) $9.90" in text and "Total $109.90" in text
    assert "Sales tax" not in text
    text = _text(client.get("/cart?country=FR"))
    assert "We do not ship to France." in text
    # The choice is remembered for the next visit.
    assert "We do not ship to France." in _text(client.get("/cart"))


def test_cart_keeps_a_code_that_applies_and_says_why_one_does_not(client, db, priced):
    _add(client, priced["product"])
    client.get("/cart?country=US")
    resp = client.post("/cart/discount-code", data={"discount_code": "save10"})
    assert resp.status_code == 303
    text = _text(client.get("/cart"))
    assert "Code SAVE10 applied: $10.00 off." in text
    # 100.00 - 10.00 = 90.00; tax 5 % of 90.00 = 4.50 and of 4.95 = 0.25.
    assert "Discount (SAVE10) -$10.00" in text and "Total $99.70" in text

    db.session.add(DiscountCode(code="OLD", kind="fixed", value=500, ends_at=utcnow() - timedelta(days=1)))
    db.session.add(DiscountCode(code="BIG", kind="fixed", value=500, min_subtotal_cents=50_000))
    db.session.commit()
    for typed, status, reason in (
        ("NOPE", 404, "There is no discount code NOPE."),
        ("old", 409, "The code OLD has expired."),
        ("BIG", 409, "The code BIG needs a subtotal of at least $500.00."),
    ):
        resp = client.post("/cart/discount-code", data={"discount_code": typed})
        assert resp.status_code == status, typed
        body = resp.get_data(as_text=True)
        assert reason in _text(resp)
        assert f'value="{typed}"' in body  # what was typed is kept in the box
    # The code that applied is still on the cart; removing it takes it off.
    assert "Code SAVE10 applied" in _text(client.get("/cart"))
    client.post("/cart/discount-code/remove")
    text = _text(client.get("/cart"))
    assert "SAVE10" not in text and "Total $110.20" in text


def test_checkout_offers_the_methods_for_the_address_and_places_the_quoted_total(client, db, priced):
    user = make_user(email="shopper@example.com")
    sign_in(client, user)
    _add(client, priced["product"], 2)
    page = client.get("/checkout")
    body = page.get_data(as_text=True)
    assert "Standard · $4.95" in _text(page) and "Express · $14.95" in _text(page)
    assert "Europe" not in _text(page)
    form = _hidden(body)
    # Choose Express and a code without pressing "Update totals": the page re-quotes first.
    data = {
        **form,
        **ADDRESS,
        "payment_provider": "manual",
        "shipping_method": str(priced["express"]),
        "discount_code": "SAVE10",
        "action": "place",
    }
    resp = client.post("/checkout", data=data)
    assert resp.status_code == 200 and _order_count(db) == 0
    text = _text(resp)
    # 200.00 - 20.00 = 180.00 + 14.95; Virginia 6 %: 10.80 + 0.897 -> 0.90 = 11.70.
    assert "Your totals changed" in text
    assert "Discount (SAVE10) -$20.00" in text and "Sales tax 6% $11.70" in text
    assert "Total $206.65" in text
    # Now confirm what the page showed.
    data.update(_hidden(resp.get_data(as_text=True)))
    resp = client.post("/checkout", data=data)
    assert resp.status_code == 303, _text(resp)[:400]
    order = db.session.scalar(select(Order))
    assert (order.subtotal_cents, order.discount_cents, order.shipping_cents) == (20_000, 2000, 1495)
    assert (order.tax_cents, order.shipping_tax_cents, order.total_cents) == (1170, 90, 20_665)
    assert (order.shipping_method_name, order.discount_code, order.tax_rate_bp) == ("Express", "SAVE10", 600)
    assert [(ln.discount_cents, ln.tax_cents) for ln in order.lines] == [(2000, 1080)]


def test_checkout_refuses_a_changed_total_and_places_nothing(client, db, priced):
    _add(client, priced["product"])
    form = _hidden(client.get("/checkout").get_data(as_text=True))
    data = {**form, **ADDRESS, "email": "guest@example.com", "payment_provider": "manual", "action": "place"}
    data["shipping_method"] = str(priced["standard"])
    data.update(_hidden(client.post("/checkout", data={**data, "action": "update"}).get_data(as_text=True)))
    # Staff raise Virginia's rate between the quote and the submit.
    rate = db.session.scalar(select(TaxRate).where(TaxRate.region == "VA"))
    rate.rate_bp = 700
    db.session.commit()
    resp = client.post("/checkout", data=data)
    assert resp.status_code == 409 and _order_count(db) == 0
    assert "please review the new total" in _text(resp)


def test_api_cart_totals_code_and_order_agree_with_the_page(client, db, priced):
    user = make_user(email="script@example.com")
    headers = bearer_headers(user)
    resp = client.post(
        "/api/v1/cart/items", json={"sku": priced["product"].sku, "quantity": 2}, headers=headers
    )
    assert resp.status_code == 201
    assert client.put("/api/v1/cart/discount-code", json={"code": "nope"}, headers=headers).status_code == 404
    resp = client.put("/api/v1/cart/discount-code", json={"code": "save10"}, headers=headers)
    assert resp.status_code == 200 and resp.json["data"]["discount_code"] == "SAVE10"
    totals = client.get(
        f"/api/v1/cart?country=us&region=VA&shipping_method={priced['express']}", headers=headers
    ).json["data"]["totals"]
    assert (totals["discount_cents"], totals["shipping_cents"], totals["tax_cents"]) == (2000, 1495, 1170)
    assert totals["total_cents"] == 20_665 and totals["shipping_method_name"] == "Express"
    assert [o["name"] for o in totals["shipping_options"]] == ["Standard", "Express"]

    refused = client.post(
        "/api/v1/orders",
        json={
            "shipping_address": {**ADDRESS, "country": "FR", "region": ""},
            "shipping_method": priced["express"],
        },
        headers=headers,
    )
    assert refused.status_code == 409 and "shipping_address.country" in refused.json["errors"]
    unknown = client.post(
        "/api/v1/orders", json={"shipping_address": ADDRESS, "shipping_method": 999_999}, headers=headers
    )
    assert unknown.status_code == 409 and "shipping_method" in unknown.json["errors"]
    resp = client.post(
        "/api/v1/orders",
        json={
            "shipping_address": ADDRESS,
            "shipping_method": priced["express"],
            "expected_total_cents": 20_665,
        },
        headers=headers,
    )
    assert resp.status_code == 201, resp.json
    order = resp.json["data"]
    assert (order["total_cents"], order["tax_cents"], order["discount_cents"]) == (20_665, 1170, 2000)
    # The order page shows the same figures.
    sign_in(client, user)
    text = _text(client.get(f"/orders/{order['number']}"))
    assert "$206.65" in text and "$11.70" in text and "SAVE10" in text


def test_api_refuses_a_code_that_no_longer_applies_with_409(client, db, priced):
    user = make_user(email="late@example.com")
    headers = bearer_headers(user)
    client.post("/api/v1/cart/items", json={"sku": priced["product"].sku, "quantity": 1}, headers=headers)
    assert (
        client.put("/api/v1/cart/discount-code", json={"code": "SAVE10"}, headers=headers).status_code == 200
    )
    code = db.session.scalar(select(DiscountCode).where(DiscountCode.code == "SAVE10"))
    code.max_uses, code.times_used = 1, 1
    db.session.commit()
    resp = client.post("/api/v1/orders", json={"shipping_address": ADDRESS}, headers=headers)
    assert resp.status_code == 409
    assert resp.json["errors"]["discount_code"] == ["The code SAVE10 has been used up."]
    assert _order_count(db) == 0


def test_shipping_methods_api_lists_those_serving_a_country(client, priced):
    us = client.get("/api/v1/shipping-methods?country=us").json["data"]
    assert [m["name"] for m in us] == ["Standard", "Express"]
    assert us[0]["price_cents"] == 495 and us[1]["max_days"] == 1
    assert [m["name"] for m in client.get("/api/v1/shipping-methods?country=DE").json["data"]] == ["Europe"]
    assert client.get("/api/v1/shipping-methods?country=FR").json["data"] == []
    assert client.get("/api/v1/shipping-methods?country=France").status_code == 422


BERLIN = {
    "name": "Ada Berlin",
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "region": "",
    "postal_code": "10117",
    "country": "DE",
}


def test_checkout_starts_from_the_default_address_and_its_country(client, db, priced):
    from shop.addresses import services as address_book

    user = make_user(email="berlin@example.com")
    address_book.add_address(user.id, ADDRESS)
    berlin = address_book.add_address(user.id, BERLIN, make_default=True)
    db.session.commit()
    sign_in(client, user)
    _add(client, priced["product"])
    # The cart estimates for the default address's country: the Europe method.
    assert "Shipping (Europe) $9.90" in _text(client.get("/cart"))
    page = client.get("/checkout")
    body = page.get_data(as_text=True)
    assert re.search(r'id="line1"[^>]*value="Unter den Linden 1"', body), body
    assert re.search(rf'value="{berlin.id}"\s[^>]*checked', body)
    assert "Europe · $9.90" in _text(page) and "Express" not in _text(page)


def test_choosing_another_saved_address_without_script_fills_the_form(client, db, priced):
    from shop.addresses import services as address_book

    user = make_user(email="two@example.com")
    home = address_book.add_address(user.id, ADDRESS)
    address_book.add_address(user.id, BERLIN, make_default=True)
    db.session.commit()
    sign_in(client, user)
    _add(client, priced["product"])
    form = _hidden(client.get("/checkout").get_data(as_text=True))
    data = {**form, **BERLIN, "payment_provider": "manual", "saved_address": str(home.id), "action": "update"}
    resp = client.post("/checkout", data=data)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'value="1 Navy Way"' in body
    # Virginia now: Standard and Express are offered, and the 6 % rate applies.
    assert "Express · $14.95" in _text(resp) and "Sales tax 6%" in _text(resp)
    assert _order_count(db) == 0


def test_a_customer_can_save_the_checkout_address_once(client, db, priced):
    from shop.addresses import services as address_book

    user = make_user(email="new@example.com")
    db.session.commit()
    sign_in(client, user)
    for _ in range(2):
        _add(client, priced["product"])
        form = _hidden(client.get("/checkout").get_data(as_text=True))
        data = {**form, **ADDRESS, "payment_provider": "manual", "save_address": "y", "action": "place"}
        data["shipping_method"] = str(priced["standard"])
        data.update(
            _hidden(client.post("/checkout", data={**data, "action": "update"}).get_data(as_text=True))
        )
        assert client.post("/checkout", data=data).status_code == 303
    saved = address_book.list_addresses(user.id)
    assert [(a.line1, a.is_default) for a in saved] == [("1 Navy Way", True)]
    assert _order_count(db) == 2
