"""Order lifecycle: guarded transitions with events, cancellation returning stock exactly
once, staff pages and API, and the stock/ledger check command."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shop.catalog.models import StockMovement
from shop.exceptions import InvalidTransition, ValidationFailed
from shop.orders import cart as carts
from shop.orders import services
from shop.orders.checkout import place_order
from shop.orders.models import Order, OrderEvent
from tests.factories import ADDRESS, bearer_headers, make_product, make_user, page_text, stock_and_ledger


def _order(db, user, product, qty=2, provider="manual") -> Order:
    """Place an order for ``qty`` of ``product`` and commit."""
    carts.add_item(carts.get_user_cart(user.id, create=True), product.sku, qty)
    order = place_order(
        cart=carts.get_user_cart(user.id),
        user_id=user.id,
        email=user.email,
        shipping_address=ADDRESS,
        payment_provider=provider,
    ).order
    db.session.commit()
    return order


def _events(db, order_id):
    db.session.expire_all()
    return [
        (e.from_status, e.to_status, e.actor_id, e.note)
        for e in db.session.scalars(
            select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
        )
    ]


def test_valid_transitions_record_events(app, db):
    shopper, staff = make_user(), make_user(role="staff")
    p = make_product(stock=5)
    db.session.commit()
    order = _order(db, shopper, p)
    services.transition_order(order.id, "paid", staff.id, "Transfer received")
    services.transition_order(order.id, "shipped", staff.id, "Tracking 1Z999")
    services.transition_order(order.id, "delivered", None)
    db.session.commit()
    assert _events(db, order.id) == [
        (None, "pending_payment", shopper.id, "Order placed."),
        ("pending_payment", "paid", staff.id, "Transfer received"),
        ("paid", "shipped", staff.id, "Tracking 1Z999"),
        ("shipped", "delivered", None, ""),
    ]
    order = services.get_order(order.id)
    assert order.status == "delivered"
    words = [services.describe_event(e, order) for e in order.events]
    assert words == ["Order placed.", "Payment received.", "Your order is on its way.", "Delivered."]


@pytest.mark.parametrize(
    "path,bad",
    [
        ([], "shipped"),
        ([], "delivered"),
        (["paid", "shipped"], "cancelled"),
        (["cancelled"], "paid"),
        (["paid", "shipped", "delivered"], "paid"),
    ],
)
def test_invalid_transitions_are_refused_and_change_nothing(app, db, path, bad):
    shopper = make_user()
    p = make_product(stock=5)
    db.session.commit()
    order = _order(db, shopper, p)
    for step in path:
        services.transition_order(order.id, step, None)
    db.session.commit()
    before = _events(db, order.id)
    with pytest.raises(InvalidTransition) as err:
        services.transition_order(order.id, bad, None)
    db.session.rollback()
    assert order.number in err.value.detail and "cannot be" in err.value.detail
    assert _events(db, order.id) == before
    with pytest.raises(ValidationFailed):
        services.transition_order(order.id, "teleported", None)


def test_cancel_restores_stock_once(app, db):
    shopper = make_user()
    p = make_product(stock=5)
    db.session.commit()
    order = _order(db, shopper, p, qty=3)
    assert stock_and_ledger(p.id) == (2, 2)
    services.cancel_order(order.id, shopper.id)
    db.session.commit()
    assert stock_and_ledger(p.id) == (5, 5)
    with pytest.raises(InvalidTransition):
        services.cancel_order(order.id, shopper.id)
    db.session.rollback()
    with pytest.raises(InvalidTransition):
        services.cancel_order(order.id, None, staff=True)
    db.session.rollback()
    assert stock_and_ledger(p.id) == (5, 5)
    movements = db.session.scalars(
        select(StockMovement.reason).where(StockMovement.order_id == order.id).order_by(StockMovement.id)
    ).all()
    assert movements == ["order", "cancellation"]


def test_shopper_cannot_cancel_paid_order_but_staff_can(app, db):
    shopper, staff = make_user(), make_user(role="staff")
    p = make_product(stock=5)
    db.session.commit()
    order = _order(db, shopper, p, provider="test")
    assert order.status == "paid"
    with pytest.raises(InvalidTransition, match="contact us"):
        services.cancel_order(order.id, shopper.id)
    db.session.rollback()
    assert stock_and_ledger(p.id) == (3, 3)
    services.cancel_order(order.id, staff.id, "Customer phoned", staff=True)
    db.session.commit()
    assert stock_and_ledger(p.id) == (5, 5)
    order = services.get_order(order.id)
    assert services.describe_event(order.events[-1], order).startswith("Cancelled by the shop")


def test_api_cancel_and_transitions(client, db):
    shopper, staff = make_user(), make_user(role="staff")
    p = make_product(stock=5)
    db.session.commit()
    h_shop, h_staff = bearer_headers(shopper), bearer_headers(staff)
    order = _order(db, shopper, p, qty=2)
    n = order.number

    # Only staff move orders along; shoppers get 403.
    resp = client.post(f"/api/v1/orders/{n}/transitions", json={"to": "paid"}, headers=h_shop)
    assert resp.status_code == 403
    resp = client.post(f"/api/v1/orders/{n}/transitions", json={"to": "shipped"}, headers=h_staff)
    assert resp.status_code == 409
    assert resp.get_json()["title"] == "Invalid status transition"
    assert "cannot be marked shipped" in resp.get_json()["detail"]
    resp = client.post(f"/api/v1/orders/{n}/transitions", json={"to": "nowhere"}, headers=h_staff)
    assert resp.status_code == 422 and "to" in resp.get_json()["errors"]
    resp = client.post(
        f"/api/v1/orders/{n}/transitions", json={"to": "paid", "note": "Wire in"}, headers=h_staff
    )
    assert resp.status_code == 200
    data = resp.get_json()["data"]
    assert data["status"] == "paid"
    assert data["events"][-1] == {
        "from": "pending_payment",
        "to": "paid",
        "at": data["events"][-1]["at"],
        "description": "Payment received.",
        "actor_id": staff.id,
        "note": "Wire in",
    }
    # The shopper sees plain words, no staff notes.
    mine = client.get(f"/api/v1/orders/{n}", headers=h_shop).get_json()["data"]
    assert mine["events"][-1]["description"] == "Payment received." and "note" not in mine["events"][-1]

    # Paid: the shopper may no longer cancel, staff may.
    resp = client.post(f"/api/v1/orders/{n}/cancel", headers=h_shop)
    assert resp.status_code == 409 and stock_and_ledger(p.id) == (3, 3)
    resp = client.post(f"/api/v1/orders/{n}/cancel", json={"note": "Out of business"}, headers=h_staff)
    assert resp.status_code == 200 and resp.get_json()["data"]["status"] == "cancelled"
    assert stock_and_ledger(p.id) == (5, 5)
    resp = client.post(f"/api/v1/orders/{n}/cancel", headers=h_staff)
    assert resp.status_code == 409 and stock_and_ledger(p.id) == (5, 5)


def test_api_owner_cancels_pending_order_and_others_get_404(client, db):
    shopper, other = make_user(), make_user()
    p = make_product(stock=4)
    db.session.commit()
    order = _order(db, shopper, p, qty=4)
    assert (
        client.post(f"/api/v1/orders/{order.number}/cancel", headers=bearer_headers(other)).status_code == 404
    )
    assert stock_and_ledger(p.id) == (0, 0)
    resp = client.post(f"/api/v1/orders/{order.number}/cancel", headers=bearer_headers(shopper))
    assert resp.status_code == 200 and resp.get_json()["data"]["events"][-1]["to"] == "cancelled"
    assert stock_and_ledger(p.id) == (4, 4)


def test_html_shopper_cancel_with_message(client, auth, db):
    shopper = make_user()
    p = make_product(stock=4)
    db.session.commit()
    order = _order(db, shopper, p, qty=1)
    auth.login(shopper.email)
    page = page_text(client.get(f"/orders/{order.number}"))
    assert "Cancel order" in page and "Yes, cancel it" in page
    resp = client.post(f"/orders/{order.number}/cancel", follow_redirects=True)
    assert f"Order {order.number} has been cancelled." in page_text(resp)
    assert "Cancelled at your request." in page_text(resp)
    assert stock_and_ledger(p.id) == (4, 4)
    resp = client.post(f"/orders/{order.number}/cancel", follow_redirects=True)
    assert "is cancelled and cannot be cancelled" in page_text(resp)
    assert stock_and_ledger(p.id) == (4, 4)


def test_staff_pages_list_filter_detail_and_change_status(client, auth, db):
    shopper, staff = make_user(email="buyer@example.com"), make_user(role="staff")
    p = make_product(stock=10)
    db.session.commit()
    first = _order(db, shopper, p, qty=1)
    second = _order(db, shopper, p, qty=1, provider="test")
    # Shoppers may not see the staff pages.
    auth.login(shopper.email)
    assert client.get("/admin/orders").status_code == 403
    auth.logout()
    auth.login(staff.email)

    listing = page_text(client.get("/admin/orders"))
    assert first.number in listing and second.number in listing
    paid_only = page_text(client.get("/admin/orders?status=paid"))
    assert second.number in paid_only and first.number not in paid_only
    assert first.number in page_text(client.get(f"/admin/orders?q={first.number[:9].lower()}"))

    detail = page_text(client.get(f"/admin/orders/{first.number}"))
    assert "buyer@example.com" in detail and "Order placed." in detail
    resp = client.post(
        f"/admin/orders/{first.number}/status", data={"to_status": "delivered"}, follow_redirects=True
    )
    assert "cannot be marked delivered" in page_text(resp)
    resp = client.post(
        f"/admin/orders/{first.number}/status",
        data={"to_status": "paid", "note": "Cash received"},
        follow_redirects=True,
    )
    page = page_text(resp)
    assert "is now paid" in page and "Cash received" in page and staff.email in page
    assert _events(db, first.id)[-1] == ("pending_payment", "paid", staff.id, "Cash received")
    assert client.get("/admin/orders/NOPE-NOPE-NOPE").status_code == 404


def test_staff_pagination(client, auth, db):
    staff = make_user(role="staff")
    shopper = make_user()
    p = make_product(stock=100)
    db.session.commit()
    for _ in range(3):
        _order(db, shopper, p, qty=1)
    from shop.admin import orders as admin_orders

    old = admin_orders.PER_PAGE
    admin_orders.PER_PAGE = 2
    try:
        auth.login(staff.email)
        page1, page2 = page_text(client.get("/admin/orders")), page_text(client.get("/admin/orders?page=2"))
    finally:
        admin_orders.PER_PAGE = old
    numbers = db.session.scalars(select(Order.number).order_by(Order.id)).all()
    assert "Showing 1–2 of 3 orders" in page1 and "Showing 3–3 of 3 orders" in page2
    assert numbers[0] in page2 and numbers[0] not in page1


def test_check_stock_command(app, db):
    p = make_product(stock=5)
    q = make_product(stock=2)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["shop", "check-stock"])
    assert result.exit_code == 0 and "OK" in result.output
    q.stock = 7  # changed without a ledger row
    db.session.commit()
    result = runner.invoke(args=["shop", "check-stock"])
    assert result.exit_code == 1
    assert q.sku in result.output and "+5" in result.output and p.sku not in result.output


def test_api_cancel_body_is_optional_and_unknown_fields_are_refused(client, db):
    shopper = make_user()
    p = make_product(stock=5)
    db.session.commit()
    order = _order(db, shopper, p)
    h = bearer_headers(shopper)
    resp = client.post(f"/api/v1/orders/{order.number}/cancel", json={"reason": "x"}, headers=h)
    assert resp.status_code == 422 and resp.get_json()["errors"] == {"reason": ["Unknown field."]}
    resp = client.post(f"/api/v1/orders/{order.number}/cancel", headers=h)  # no body at all
    assert resp.status_code == 200 and resp.get_json()["data"]["status"] == "cancelled"
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["paths"]["/api/v1/orders/{number}/cancel"]["post"]["requestBody"]["required"] is False
