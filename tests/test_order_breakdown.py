"""The breakdown a placed order keeps (subtotal, discount, shipping, tax, total) wherever the
order is shown: the order JSON, the shopper's order page, the confirmation page, the mail
and the staff order page; and orders from before the breakdown look as they always did."""

from __future__ import annotations

import re

import pytest

from shop.orders.models import Order, OrderEvent, OrderLine
from shop.orders.notifications import confirmation_text
from shop.orders.schemas import OrderSchema, order_json
from shop.pricing.display import breakdown_rows
from tests.factories import ADDRESS, bearer_headers, make_user, page_text, sign_in


def make_order(db, user, **columns) -> Order:
    """A placed order of ``user``: two laptops at 500.00 and a mouse at 20.00 (1,020.00)."""
    order = Order(
        number=columns.pop("number", "ORD-BREAKDOWN"),
        user_id=user.id,
        email=user.email,
        currency="USD",
        subtotal_cents=102000,
        shipping_address=ADDRESS,
        **columns,
    )
    order.lines = [
        OrderLine(sku="LAP-1", name="Laptop", unit_price_cents=50000, quantity=2, **_line(columns, 0)),
        OrderLine(sku="MOU-1", name="Mouse", unit_price_cents=2000, quantity=1, **_line(columns, 1)),
    ]
    order.events = [OrderEvent(from_status=None, to_status="pending_payment", note="Order placed.")]
    db.session.add(order)
    db.session.commit()
    return order


def _line(columns: dict, index: int) -> dict:
    """The lines' share of the order's discount and tax (only for orders that have them)."""
    if not columns.get("discount_cents"):
        return {}
    return [
        {"discount_cents": 10000, "tax_cents": 7992, "tax_rate_bp": 888},
        {"discount_cents": 200, "tax_cents": 160, "tax_rate_bp": 888},
    ][index]


#: A US-style order: 10% off with SUMMER-10, Express shipping 9.95, 8.88% sales tax added.
#: 1,020.00 - 102.00 + 9.95 = 927.95; tax 81.52 + 0.88 on shipping = 82.40; total 1,010.35.
US_ORDER = {
    "discount_cents": 10200,
    "discount_code": "SUMMER-10",
    "shipping_cents": 995,
    "shipping_method_name": "Express",
    "tax_cents": 8240,
    "shipping_tax_cents": 88,
    "tax_name": "Sales tax",
    "tax_rate_bp": 888,
    "prices_include_tax": False,
    "total_cents": 101035,
}

#: An EU-style order: the prices include 20% VAT (shown, not added); shipping free.
EU_ORDER = {
    **US_ORDER,
    "shipping_cents": 0,
    "shipping_method_name": "Standard",
    "tax_cents": 15300,
    "shipping_tax_cents": 0,
    "tax_name": "VAT",
    "tax_rate_bp": 2000,
    "prices_include_tax": True,
    "total_cents": 91800,
}


def _rows(html: str) -> list[tuple[str, str]]:
    """``(label, amount)`` of every row of the order's price breakdown (the table foot)."""
    foot = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S).group(1)
    return [
        (re.sub(r"\s+", " ", label).strip(), amount.strip())
        for label, amount in re.findall(r"<th[^>]*>(.*?)</th><td[^>]*>(.*?)</td>", foot, re.S)
    ]


US_ROWS = [
    ("Subtotal", "$1,020.00"),
    ("Discount (SUMMER-10)", "-$102.00"),
    ("Shipping (Express)", "$9.95"),
    ("Sales tax 8.88%", "$82.40"),
    ("Total", "$1,010.35"),
]
OLD_ROWS = [("Subtotal", "$1,020.00"), ("Shipping", "Free"), ("Total", "$1,020.00")]


@pytest.fixture
def shopper(db):
    user = make_user(email="shopper@example.com")
    db.session.commit()
    return user


def test_order_json_carries_the_breakdown(db, shopper):
    order = make_order(db, shopper, **US_ORDER)
    data = order_json(order)
    assert {
        k: data[k] for k in ("subtotal_cents", "discount_cents", "shipping_cents", "tax_cents", "total_cents")
    } == {
        "subtotal_cents": 102000,
        "discount_cents": 10200,
        "shipping_cents": 995,
        "tax_cents": 8240,
        "total_cents": 101035,
    }
    assert (data["discount_code"], data["shipping_method"], data["tax_name"], data["tax_rate_bp"]) == (
        "SUMMER-10",
        "Express",
        "Sales tax",
        888,
    )
    assert data["shipping_tax_cents"] == 88 and data["prices_include_tax"] is False
    assert [(ln["discount_cents"], ln["tax_cents"], ln["tax_rate_bp"]) for ln in data["lines"]] == [
        (10000, 7992, 888),
        (200, 160, 888),
    ]
    # The documented response shape has every field the serializer gives.
    documented = set(OrderSchema().fields)
    assert set(data) - {"events"} <= documented
    assert set(data["lines"][0]) <= set(OrderSchema().fields["lines"].inner.schema.fields)


def test_order_api_returns_the_breakdown(client, db, shopper):
    order = make_order(db, shopper, **EU_ORDER)
    resp = client.get(f"/api/v1/orders/{order.number}", headers=bearer_headers(shopper))
    data = resp.get_json()["data"]
    assert resp.status_code == 200
    assert (data["prices_include_tax"], data["tax_name"], data["tax_cents"], data["total_cents"]) == (
        True,
        "VAT",
        15300,
        91800,
    )


def test_order_page_shows_the_full_breakdown(client, db, shopper):
    order = make_order(db, shopper, **US_ORDER)
    sign_in(client, shopper)
    html = page_text(client.get(f"/orders/{order.number}"))
    assert _rows(html) == US_ROWS


def test_prices_with_tax_included_say_includes_and_do_not_add_it(client, db, shopper):
    order = make_order(db, shopper, **EU_ORDER)
    sign_in(client, shopper)
    html = page_text(client.get(f"/orders/{order.number}"))
    assert _rows(html) == [
        ("Subtotal", "$1,020.00"),
        ("Discount (SUMMER-10)", "-$102.00"),
        ("Shipping (Standard)", "Free"),
        ("Includes VAT 20%", "$153.00"),
        ("Total", "$918.00"),
    ]


def test_confirmation_and_staff_pages_show_the_same_breakdown(client, db, shopper):
    order = make_order(db, shopper, **US_ORDER)
    sign_in(client, shopper)
    assert _rows(page_text(client.get(f"/orders/{order.number}/thanks"))) == US_ROWS
    staff = make_user(role="staff")
    sign_in(client, staff)
    assert _rows(page_text(client.get(f"/admin/orders/{order.number}"))) == US_ROWS


def test_confirmation_mail_shows_the_breakdown(app, db, shopper):
    order = make_order(db, shopper, **US_ORDER)
    _subject, body = confirmation_text(order, "https://shop.example/orders/ORD-BREAKDOWN")
    assert (
        "Subtotal: $1,020.00\n"
        "Discount (SUMMER-10): -$102.00\n"
        "Shipping (Express): $9.95\n"
        "Sales tax 8.88%: $82.40\n"
        "Total: $1,010.35\n"
    ) in body

    eu = make_order(db, shopper, number="ORD-EU", **EU_ORDER)
    _subject, body = confirmation_text(eu, "https://shop.example/orders/ORD-EU")
    assert "Shipping (Standard): Free\nIncludes VAT 20%: $153.00\nTotal: $918.00\n" in body


def test_an_order_from_before_the_breakdown_looks_as_before(client, db, shopper):
    order = make_order(db, shopper, total_cents=102000)  # every new column at its default
    sign_in(client, shopper)
    for path in (f"/orders/{order.number}", f"/orders/{order.number}/thanks"):
        html = page_text(client.get(path))
        assert _rows(html) == OLD_ROWS
        assert "Discount" not in html and "Includes" not in html and "Sales tax" not in html
        # The very markup the pages had before.
        assert (
            '<tr><th colspan="3" class="text-end fw-normal">Shipping</th><td class="text-end text-nowrap">Free</td></tr>'
        ) in html
        assert (
            '<tr><th colspan="3" class="text-end">Total</th><td class="text-end text-nowrap fw-bold">$1,020.00</td></tr>'
        ) in html
    _subject, body = confirmation_text(order, "https://shop.example/o")
    assert "Subtotal: $1,020.00\nShipping: Free\nTotal: $1,020.00\n" in body and "Discount" not in body
    data = order_json(order)
    assert (data["discount_cents"], data["tax_cents"], data["tax_name"], data["shipping_method"]) == (
        0,
        0,
        "",
        "",
    )


def test_breakdown_rows_work_for_any_object_with_the_attributes(app):
    class CartTotals:  # what a cart's breakdown looks like before checkout
        subtotal_cents, discount_cents, discount_code = 5000, 500, ""
        shipping_cents, shipping_method_name = 495, ""
        tax_cents, tax_name, tax_rate_bp, prices_include_tax = 0, "", 0, False
        total_cents = 4995

    rows = breakdown_rows(CartTotals())
    assert [(r.kind, r.label, r.cents, r.text) for r in rows] == [
        ("subtotal", "Subtotal", 5000, ""),
        ("discount", "Discount", -500, ""),
        ("shipping", "Shipping", 495, ""),
        ("total", "Total", 4995, ""),
    ]
    template = app.jinja_env.from_string(
        '{% from "orders/_macros.html" import breakdown_rows %}<table>{{ breakdown_rows(b, "EUR") }}</table>'
    )
    with app.test_request_context():
        html = template.render(b=CartTotals())
    assert '<th class="text-end fw-normal">Discount</th><td class="text-end text-nowrap">-€5.00</td>' in html
    assert "€49.95" in html and "colspan" not in html
