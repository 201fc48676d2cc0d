"""The refunds API over HTTP: staff refund by SKU or line id and list refunds; 409 beyond
what is left, 422 for lines not of the order, 502 when Stripe fails; customers refused."""

from __future__ import annotations

import socket

import pytest

from shop.payments.models import Refund
from tests.factories import bearer_headers, make_product, make_user, stock_and_ledger
from tests.refund_factories import make_card_payment, make_paid_order


@pytest.fixture
def world(db):
    staff = make_user(role="staff")
    shopper = make_user()
    a = make_product(name="Alpha", stock=10)
    b = make_product(name="Beta", stock=5)
    # A: 2 × $30.00 less $6.00 = $54.00; B: 1 × $15.00; shipping $4.95 -> $73.95 (no tax)
    order = make_paid_order([(a, 3000, 2, 600, 0), (b, 1500, 1, 0, 0)], user=shopper, shipping_cents=495)
    db.session.commit()
    return {
        "staff": staff,
        "shopper": shopper,
        "a": a,
        "b": b,
        "order": order,
        "url": f"/api/v1/orders/{order.number}/refunds",
        "headers": bearer_headers(staff),
    }


def test_staff_refund_by_sku_and_by_line_id_then_list(client, db, world):
    order = world["order"]
    resp = client.post(
        world["url"],
        json={"lines": [{"sku": world["a"].sku, "quantity": 1}], "restock": True, "reason": "Broken"},
        headers=world["headers"],
    )
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()["data"]
    assert resp.headers["Location"].endswith(world["url"])
    assert {
        k: data[k] for k in ("amount_cents", "currency", "status", "restock", "extra_cents", "reason")
    } == {
        "amount_cents": 2700,
        "currency": "USD",
        "status": "succeeded",
        "restock": True,
        "extra_cents": 0,
        "reason": "Broken",
    }
    assert data["lines"] == [
        {"line_id": order.lines[0].id, "sku": world["a"].sku, "quantity": 1, "amount_cents": 2700}
    ]
    assert data["order"]["status"] == "partially_refunded"
    assert [r["id"] for r in data["order"]["refunds"]] == [data["id"]]
    assert stock_and_ledger(world["a"].id) == (11, 11)

    # the order's line ids are in its JSON; refund B and the shipping by id
    line_b = next(ln for ln in data["order"]["lines"] if ln["sku"] == world["b"].sku)
    resp = client.post(
        world["url"],
        json={"lines": [{"line_id": line_b["id"], "quantity": 1}], "extra_cents": 495},
        headers=world["headers"],
    )
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["data"]["amount_cents"] == 1995
    assert resp.get_json()["data"]["order"]["status"] == "partially_refunded"
    assert stock_and_ledger(world["b"].id) == (5, 5)  # no restock asked

    listing = client.get(world["url"], headers=world["headers"])
    assert listing.status_code == 200
    body = listing.get_json()
    assert [(r["amount_cents"], r["status"]) for r in body["data"]] == [
        (2700, "succeeded"),
        (1995, "succeeded"),
    ]
    assert body["meta"]["total"] == 2

    # what is left: the second unit of A, $27.00; more is refused with the figures
    resp = client.post(world["url"], json={"extra_cents": 2701}, headers=world["headers"])
    assert resp.status_code == 409
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert "at most $27.00 is left to refund" in resp.get_json()["detail"]
    resp = client.post(
        world["url"], json={"lines": [{"sku": world["a"].sku, "quantity": 2}]}, headers=world["headers"]
    )
    assert resp.status_code == 409
    assert resp.get_json()["errors"] == {
        f"lines.{order.lines[0].id}": [f"{world['a'].sku}: only 1 of 2 left to refund."]
    }

    resp = client.post(
        world["url"], json={"lines": [{"sku": world["a"].sku, "quantity": 1}]}, headers=world["headers"]
    )
    assert resp.status_code == 201
    assert resp.get_json()["data"]["order"]["status"] == "refunded"
    assert db.session.query(Refund).count() == 3


_ONE_NAME = ["Give the line's sku or its line_id (one of them)."]


@pytest.mark.parametrize(
    "body,errors",
    [
        ({}, {"lines": ["Give at least one line or a positive extra_cents."]}),
        ({"extra_cents": 0, "lines": []}, {"lines": ["Give at least one line or a positive extra_cents."]}),
        ({"lines": [{"quantity": 1}]}, {"lines": {"0": {"sku": _ONE_NAME}}}),
        ({"lines": [{"sku": "X", "line_id": 1, "quantity": 1}]}, {"lines": {"0": {"sku": _ONE_NAME}}}),
        (
            {"lines": [{"sku": "X", "quantity": 0}]},
            {"lines": {"0": {"quantity": ["Must be between 1 and 99."]}}},
        ),
        (
            {"extra_cents": -1},
            {"extra_cents": ["Must be greater than or equal to 0 and less than or equal to 100000000."]},
        ),
        ({"extra_cents": 100, "restock": "yes"}, {"restock": ["Must be true or false."]}),
        ({"extra_cents": 100, "surprise": 1}, {"surprise": ["Unknown field."]}),
    ],
)
def test_invalid_refund_bodies_are_422_and_change_nothing(client, db, world, body, errors):
    resp = client.post(world["url"], json=body, headers=world["headers"])
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["errors"] == errors
    assert db.session.query(Refund).count() == 0


@pytest.mark.parametrize(
    "item,errors",
    [
        ({"sku": "NOPE", "quantity": 1}, {"lines.1.sku": ["Not a SKU of this order."]}),
        ({"line_id": 999, "quantity": 1}, {"lines.1.line_id": ["Not a line of this order."]}),
    ],
)
def test_a_line_that_is_not_the_orders_is_404(client, db, world, item, errors):
    body = {"lines": [{"sku": world["a"].sku, "quantity": 1}, item]}
    resp = client.post(world["url"], json=body, headers=world["headers"])
    assert resp.status_code == 404
    assert resp.get_json()["errors"] == errors
    assert db.session.query(Refund).count() == 0


def test_customers_and_strangers_cannot_refund(client, db, world):
    body = {"extra_cents": 100}
    assert client.post(world["url"], json=body).status_code == 401
    shopper = bearer_headers(world["shopper"])
    assert client.post(world["url"], json=body, headers=shopper).status_code == 403
    assert client.get(world["url"], headers=shopper).status_code == 403
    assert (
        client.post("/api/v1/orders/0000-0000-0000/refunds", json=body, headers=world["headers"]).status_code
        == 404
    )
    assert db.session.query(Refund).count() == 0


def test_an_unpaid_order_is_409(client, db, world):
    order = make_paid_order([(world["a"], 1000, 1, 0, 0)], status="pending_payment")
    db.session.commit()
    resp = client.post(
        f"/api/v1/orders/{order.number}/refunds", json={"extra_cents": 1}, headers=world["headers"]
    )
    assert resp.status_code == 409
    assert "has not been paid yet" in resp.get_json()["detail"]


def test_stripe_unreachable_is_502_and_the_refund_is_recorded_failed(app, client, db, world):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app.config.update(STRIPE_SECRET_KEY="sk_test_x", STRIPE_API_BASE=f"http://127.0.0.1:{port}")
    order = make_paid_order([(world["a"], 1000, 2, 0, 0)], provider="card")
    make_card_payment(order, "pi_api")
    db.session.commit()
    url = f"/api/v1/orders/{order.number}/refunds"
    resp = client.post(
        url,
        json={"lines": [{"sku": world["a"].sku, "quantity": 1}], "restock": True},
        headers=world["headers"],
    )
    assert resp.status_code == 502
    assert resp.headers["Content-Type"] == "application/problem+json"
    listing = client.get(url, headers=world["headers"]).get_json()["data"]
    assert [(r["amount_cents"], r["status"]) for r in listing] == [(1000, "failed")]
    assert stock_and_ledger(world["a"].id) == (10, 10)
    staff_view = client.get(f"/api/v1/orders/{order.number}", headers=world["headers"]).get_json()["data"]
    assert staff_view["status"] == "paid"
    assert [(p["provider"], p["provider_payment"], p["status"]) for p in staff_view["payments"]] == [
        ("card", "pi_api", "succeeded")
    ]
    assert [r["status"] for r in staff_view["refunds"]] == ["failed"]


def test_the_shoppers_own_order_view_has_no_payments_or_refunds(client, db, world):
    assert client.post(world["url"], json={"extra_cents": 100}, headers=world["headers"]).status_code == 201
    mine = client.get(f"/api/v1/orders/{world['order'].number}", headers=bearer_headers(world["shopper"]))
    data = mine.get_json()["data"]
    assert data["status"] == "partially_refunded"
    assert "payments" not in data and "refunds" not in data
    assert [e["description"] for e in data["events"]][-1] == "Part of your order was refunded."
