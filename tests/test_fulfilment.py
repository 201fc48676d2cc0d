"""Fulfilment: an order is marked shipped only with a carrier and tracking number (admin page
and staff API alike), staff print a packing slip (lines, SKUs, quantities, ship-to, no
prices), and the migration adds the columns without touching the orders' lines."""

from __future__ import annotations

import re

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text

from shop import mail
from shop.extensions import db as _db
from shop.orders import cart as carts
from shop.orders import services
from shop.orders.checkout import place_order
from shop.orders.models import Order
from shop.orders.notifications import ORDER_STATUS
from tests.factories import ADDRESS, bearer_headers, make_product, make_user, page_text, sign_in
from tests.jobhelpers import rows
from tests.test_migrations import empty_database_url  # noqa: F401 - the fixture
from tests.test_pricing_migration import _write_an_old_order


@pytest.fixture(autouse=True)
def _empty_outbox():
    mail.clear_outbox()
    yield
    mail.clear_outbox()


@pytest.fixture
def paid_order(db):
    """A customer's paid order: 2 x Keyboard (49.99), 1 x Mouse (19.50)."""
    shopper = make_user(email="ada@example.com")
    kb = make_product(name="Keyboard", sku="KB-1", price_cents=4999, stock=5)
    mouse = make_product(name="Mouse", sku="MS-2", price_cents=1950, stock=5)
    db.session.commit()
    cart = carts.get_user_cart(shopper.id, create=True)
    carts.add_item(cart, kb.sku, 2)
    carts.add_item(cart, mouse.sku, 1)
    order = place_order(
        cart=carts.get_user_cart(shopper.id),
        user_id=shopper.id,
        email=shopper.email,
        shipping_address=ADDRESS,
        payment_provider="manual",
    ).order
    services.transition_order(order.id, "paid", None)
    db.session.commit()
    return order


@pytest.fixture
def staff_client(app, db):
    """A browser signed in as staff."""
    browser = app.test_client()
    sign_in(browser, make_user(email="staff@example.com", role="staff"))
    return browser


def _shipped_columns(db, order_id):
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    return order.status, order.carrier, order.tracking_number, order.shipped_at is not None


def test_the_admin_page_marks_an_order_shipped_only_with_carrier_and_tracking(db, paid_order, staff_client):
    number = paid_order.number
    page = staff_client.get(f"/admin/orders/{number}")
    body = page.get_data(as_text=True)
    assert 'name="carrier"' in body and 'name="tracking_number"' in body
    assert f'href="/admin/orders/{number}/packing-slip"' in body

    resp = staff_client.post(
        f"/admin/orders/{number}/status",
        data={"to_status": "shipped", "note": "Left the depot", "carrier": "UPS", "tracking_number": " "},
    )
    assert resp.status_code == 422
    text = page_text(resp)
    assert (
        "Give the carrier and the tracking number" in text
        and "Required when the order is marked shipped" in text
    )
    assert 'value="UPS"' in resp.get_data(as_text=True) and "Left the depot" in text  # kept as typed
    assert _shipped_columns(db, paid_order.id) == ("paid", "", "", False)
    assert rows(ORDER_STATUS)[-1].key.endswith(":paid")  # no shipped mail written

    resp = staff_client.post(
        f"/admin/orders/{number}/status",
        data={
            "to_status": "shipped",
            "note": "",
            "carrier": " UPS ",
            "tracking_number": "1Z999AA10123456784",
        },
    )
    assert resp.status_code == 303
    assert _shipped_columns(db, paid_order.id) == ("shipped", "UPS", "1Z999AA10123456784", True)
    shown = page_text(staff_client.get(f"/admin/orders/{number}"))
    assert "Shipment" in shown and "1Z999AA10123456784" in shown
    assert mail.outbox()[-1]["Subject"].endswith("on its way")

    # shipped -> delivered needs nothing more
    resp = staff_client.post(f"/admin/orders/{number}/status", data={"to_status": "delivered"})
    assert resp.status_code == 303 and _shipped_columns(db, paid_order.id)[0] == "delivered"


def test_the_api_marks_an_order_shipped_only_with_carrier_and_tracking(client, db, paid_order):
    staff = bearer_headers(make_user(email="staff@example.com", role="staff"))
    url = f"/api/v1/orders/{paid_order.number}/transitions"
    resp = client.post(url, json={"to": "shipped"}, headers=staff)
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert set(resp.get_json()["errors"]) == {"carrier", "tracking_number"}
    resp = client.post(
        url, json={"to": "shipped", "carrier": "x" * 51, "tracking_number": "1"}, headers=staff
    )
    assert resp.status_code == 422 and set(resp.get_json()["errors"]) == {"carrier"}
    assert _shipped_columns(db, paid_order.id) == ("paid", "", "", False)

    resp = client.post(
        url, json={"to": "shipped", "carrier": "DHL", "tracking_number": "JD0146"}, headers=staff
    )
    assert resp.status_code == 200
    data = resp.get_json()["data"]
    assert (data["status"], data["carrier"], data["tracking_number"]) == ("shipped", "DHL", "JD0146")
    assert data["shipped_at"] is not None
    # The customer reads the same in their own order's JSON.
    mine = client.get(f"/api/v1/orders/{paid_order.number}", headers=bearer_headers(paid_order.user))
    assert (mine.get_json()["data"]["carrier"], mine.get_json()["data"]["tracking_number"]) == (
        "DHL",
        "JD0146",
    )


def test_the_openapi_document_describes_the_shipment_fields(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/orders/{number}/transitions"]["post"]
    assert "422" in op["responses"] and "tracking_number" in op["responses"]["422"]["description"]
    schema = doc["components"]["schemas"]["Transition"]["properties"]
    assert {"carrier", "tracking_number"} <= set(schema)
    assert {"carrier", "tracking_number", "shipped_at"} <= set(
        doc["components"]["schemas"]["Order"]["properties"]
    )


def test_the_packing_slip_lists_what_goes_in_the_parcel_and_no_prices(db, paid_order, staff_client):
    resp = staff_client.get(f"/admin/orders/{paid_order.number}/packing-slip")
    assert resp.status_code == 200
    text = page_text(resp)
    assert "Packing slip" in text and paid_order.number in text
    lines = re.findall(
        r'<td class="font-monospace text-nowrap">([^<]+)</td>\s*<td>([^<]+)</td>\s*<td class="text-end fw-bold">(\d+)</td>',
        resp.get_data(as_text=True),
    )
    assert lines == [("KB-1", "Keyboard", "2"), ("MS-2", "Mouse", "1")]
    assert "Units in all" in text and re.search(
        r"Units in all\s*</th>\s*<th[^>]*>3<", resp.get_data(as_text=True)
    )
    for part in (ADDRESS["name"], ADDRESS["line1"], ADDRESS["city"], ADDRESS["postal_code"]):
        assert part in text
    assert "$" not in text and "49.99" not in text and "Total" not in text
    assert 'class="no-print' in resp.get_data(as_text=True)


def test_the_packing_slip_is_for_staff_only(app, client, db, paid_order):
    url = f"/admin/orders/{paid_order.number}/packing-slip"
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
    customer = app.test_client()
    sign_in(customer, paid_order.user)
    assert customer.get(url).status_code == 403
    staff = app.test_client()
    sign_in(staff, make_user(email="staff@example.com", role="staff"))
    assert staff.get("/admin/orders/NOPE-NOPE-NOPE/packing-slip").status_code == 404


def test_the_print_stylesheet_hides_navigation(client):
    css = client.get("/static/css/shop.css").get_data(as_text=True)
    printed = css[css.index("@media print") :]
    assert ".navbar" in printed and ".no-print" in printed and "display: none" in printed


@pytest.mark.parametrize(
    "query,shown",
    [("?number=ab12cd34ef56", "AB12-CD34-EF56"), ("?number=not-a-number", ""), ("", "")],
)
def test_the_look_up_form_fills_the_number_in_from_the_address(client, query, shown):
    page = client.get(f"/orders/lookup{query}")
    assert page.status_code == 200
    field = re.search(r'<input[^>]*name="number"[^>]*>', page.get_data(as_text=True)).group(0)
    value = re.search(r'value="([^"]*)"', field)
    assert (value.group(1) if value else "") == shown


def test_the_migration_adds_the_shipment_columns_and_keeps_every_line(app_factory, empty_database_url):  # noqa: F811
    app = app_factory(SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade(revision="0010_payments")
        with _db.engine.begin() as conn:
            _write_an_old_order(conn)
            if conn.dialect.name == "postgresql":  # the rows were written with their ids
                for table in ("orders", "order_lines", "order_events"):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                        )
                    )
        upgrade(revision="0013_fulfilment")
        order = services.get_order(1)
        assert [ln.sku for ln in order.lines] == ["ENG-1", "CARD-9"]
        assert (order.status, order.carrier, order.tracking_number, order.shipped_at) == (
            "paid",
            "",
            "",
            None,
        )
        services.transition_order(1, "shipped", None, shipment=services.Shipment("UPS", "1Z1"))
        _db.session.commit()
        assert _db.session.scalar(select(Order.tracking_number)) == "1Z1"
        _db.session.remove()
