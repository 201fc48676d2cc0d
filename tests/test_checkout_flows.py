"""Checkout over HTML and JSON: one transaction, clean failure, one order per intention,
guest checkout and look-up, payment providers, confirmation e-mail after commit."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from shop import mail
from shop.catalog.models import StockMovement
from shop.orders import cart as carts
from shop.orders.models import Cart, CartItem, IdempotencyKey, Order, OrderLine
from tests.factories import bearer_headers, make_product, make_user, page_text, stock_and_ledger

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 Analytical Row",
    "city": "London",
    "postal_code": "N1 9GU",
    "country": "GB",
}


def _order_count(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Order.id)))


def _checkout_form(client, **extra) -> dict:
    """GET /checkout and return the form fields to POST (token included)."""
    page = client.get("/checkout")
    assert page.status_code == 200, page_text(page)[:500]
    body = page.get_data(as_text=True)
    token = re.search(r'name="checkout_token" type="hidden" value="([^"]+)"', body) or re.search(
        r'id="checkout_token" name="checkout_token" type="hidden" value="([^"]+)"', body
    )
    expected = re.search(r'name="expected_total_cents" type="hidden" value="([^"]*)"', body)
    data = dict(
        ADDRESS,
        payment_provider="manual",
        checkout_token=token.group(1),
        expected_total_cents=expected.group(1),
    )
    data.update(extra)
    return data


@pytest.fixture(autouse=True)
def _empty_outbox():
    mail.clear_outbox()
    yield
    mail.clear_outbox()


# --- HTML -----------------------------------------------------------------------------------


def test_html_checkout_places_order_decrements_stock_and_mails_after_commit(client, auth, db):
    user = make_user(name="Ada Lovelace")
    kb = make_product(name="Keyboard", price_cents=4999, stock=5)
    db.session.commit()
    auth.login(user.email)
    client.post("/cart/add", data={"sku": kb.sku, "quantity": "2"})

    resp = client.post("/checkout", data=_checkout_form(client))
    assert resp.status_code == 303
    order = db.session.scalar(select(Order))
    assert resp.headers["Location"].endswith(f"/orders/{order.number}/thanks")
    assert (order.user_id, order.email, order.status) == (user.id, user.email, "pending_payment")
    assert (order.subtotal_cents, order.total_cents, order.currency) == (9998, 9998, "USD")
    assert order.shipping_address["country"] == "GB" and order.shipping_address["line2"] == ""
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", order.number)
    line = db.session.scalar(select(OrderLine))
    assert (line.sku, line.name, line.unit_price_cents, line.quantity) == (kb.sku, "Keyboard", 4999, 2)
    assert stock_and_ledger(kb.id) == (3, 3)
    assert db.session.scalar(select(func.count(CartItem.id))) == 0
    [msg] = mail.outbox()
    assert msg["To"] == user.email and order.number in msg["Subject"]
    assert "2 x Keyboard" in msg.get_content() and "$99.98" in msg.get_content()

    page = page_text(client.get(resp.headers["Location"]))
    assert "Thank you for your order" in page and order.number in page
    assert f"quoting {order.number} as the reference" in page
    assert order.number in page_text(client.get("/orders"))

    # A later catalog edit does not change what was bought.
    kb.price_cents, kb.name = 1, "Renamed"
    db.session.commit()
    detail = page_text(client.get(f"/orders/{order.number}"))
    assert "Keyboard" in detail and "$49.99" in detail and "Order placed." in detail


def test_html_checkout_out_of_stock_fails_cleanly(client, auth, db):
    user = make_user()
    kb = make_product(name="Keyboard", stock=3)
    db.session.commit()
    auth.login(user.email)
    client.post("/cart/add", data={"sku": kb.sku, "quantity": "3"})
    form = _checkout_form(client)
    # Someone else buys two while this shopper fills in the form.
    from shop.catalog import stock

    stock.allocate(kb.id, 2, None)
    db.session.commit()

    resp = client.post("/checkout", data=form)
    assert resp.status_code == 409
    assert "Not enough stock for Keyboard: 3 requested, 1 left." in page_text(resp)
    assert _order_count(db) == 0
    assert stock_and_ledger(kb.id) == (1, 1)
    assert db.session.scalar(select(CartItem.quantity)) == 3  # cart untouched
    assert mail.outbox() == []


def test_html_double_submit_and_reload_place_one_order(client, auth, db):
    user = make_user()
    kb = make_product(stock=10)
    db.session.commit()
    auth.login(user.email)
    client.post("/cart/add", data={"sku": kb.sku, "quantity": "1"})
    form = _checkout_form(client)
    first = client.post("/checkout", data=form)
    # The cart is empty now; refill it to prove the second submit does not use it.
    client.post("/cart/add", data={"sku": kb.sku, "quantity": "1"})
    second = client.post("/checkout", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert _order_count(db) == 1
    assert stock_and_ledger(kb.id) == (9, 9)
    assert len(mail.outbox()) == 1
    assert "was already placed; it was not placed twice" in page_text(client.get(second.headers["Location"]))
    # Reloading the confirmation is a GET: still one order.
    client.get(first.headers["Location"])
    assert _order_count(db) == 1


def test_html_checkout_rejects_forged_token_unknown_provider_and_bad_address(client, auth, db, app):
    user = make_user()
    kb = make_product(stock=4)
    db.session.commit()
    auth.login(user.email)
    client.post("/cart/add", data={"sku": kb.sku, "quantity": "1"})
    form = _checkout_form(client)

    resp = client.post("/checkout", data=dict(form, checkout_token="AAAA-BBBB-CCCC"))
    assert resp.status_code == 422 and "checkout form is not valid" in page_text(resp)
    resp = client.post("/checkout", data=dict(form, payment_provider="bitcoin"))
    assert resp.status_code == 422
    resp = client.post("/checkout", data=dict(form, country="XX", postal_code="!!"))
    assert resp.status_code == 422 and "Letters, digits, spaces and dashes only." in page_text(resp)
    # Disabled provider: the test provider is off in this configuration.
    app.config["PAYMENT_PROVIDERS"] = ["manual"]
    resp = client.post("/checkout", data=dict(form, payment_provider="test"))
    assert resp.status_code == 422
    assert _order_count(db) == 0 and stock_and_ledger(kb.id) == (4, 4)


def test_test_provider_pays_at_once(client, auth, db):
    user = make_user()
    kb = make_product(stock=4)
    db.session.commit()
    auth.login(user.email)
    client.post("/cart/add", data={"sku": kb.sku, "quantity": "1"})
    client.post("/checkout", data=_checkout_form(client, payment_provider="test"))
    order = db.session.scalar(select(Order))
    assert order.status == "paid" and order.payment_reference.startswith("test_")
    assert [(e.from_status, e.to_status) for e in order.events] == [
        (None, "pending_payment"),
        ("pending_payment", "paid"),
    ]


def test_guest_checkout_and_lookup(client, db, app):
    kb = make_product(name="Guest keyboard", price_cents=3000, stock=5)
    db.session.commit()
    client.post("/cart/add", data={"sku": kb.sku, "quantity": "2"})
    form = _checkout_form(client)
    resp = client.post("/checkout", data=form)  # no e-mail
    assert resp.status_code == 422 and "An e-mail address is needed" in page_text(resp)
    resp = client.post("/checkout", data=dict(form, email="Guest@Example.com"))
    assert resp.status_code == 303
    order = db.session.scalar(select(Order))
    assert order.user_id is None and order.email == "guest@example.com"
    assert stock_and_ledger(kb.id) == (3, 3)
    assert mail.outbox()[0]["To"] == "guest@example.com"
    with client.session_transaction() as sess:
        assert order.number in sess["guest_orders"]
    assert "Your cart is empty" in page_text(client.get("/cart"))
    assert "Guest keyboard" in page_text(client.get(f"/orders/{order.number}"))

    other = app.test_client()  # another browser
    assert other.get(f"/orders/{order.number}").status_code == 404
    resp = other.post("/orders/lookup", data={"number": order.number, "email": "nobody@example.com"})
    assert resp.status_code == 404 and "No order matches" in page_text(resp)
    resp = other.post(
        "/orders/lookup", data={"number": order.number.replace("-", "").lower(), "email": "GUEST@example.com"}
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/orders/{order.number}")
    assert "Guest keyboard" in page_text(other.get(f"/orders/{order.number}"))


def test_another_users_order_is_404(client, auth, db, app):
    owner, other = make_user(), make_user()
    kb = make_product(stock=5)
    db.session.commit()
    carts.add_item(carts.get_user_cart(owner.id, create=True), kb.sku, 1)
    db.session.commit()
    resp = app.test_client().post(
        "/api/v1/orders", json={"shipping_address": ADDRESS}, headers=bearer_headers(owner)
    )
    number = resp.get_json()["data"]["number"]
    auth.login(other.email)
    assert client.get(f"/orders/{number}").status_code == 404
    assert client.get(f"/orders/{number}/thanks").status_code == 404
    assert client.post(f"/orders/{number}/cancel").status_code == 404
    assert client.get(f"/api/v1/orders/{number}").status_code == 404
    assert number not in page_text(client.get("/orders"))


# --- JSON -----------------------------------------------------------------------------------


def test_api_order_create_get_and_list(client, db):
    user = make_user()
    kb = make_product(name="Keyboard", price_cents=4999, stock=5)
    db.session.commit()
    h = bearer_headers(user)
    client.post("/api/v1/cart/items", json={"sku": kb.sku, "quantity": 2}, headers=h)
    resp = client.post(
        "/api/v1/orders",
        json={"shipping_address": dict(ADDRESS, country="gb"), "payment_provider": "manual"},
        headers=h,
    )
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()["data"]
    assert resp.headers["Location"].endswith(f"/api/v1/orders/{data['number']}")
    assert data["status"] == "pending_payment" and data["total_cents"] == 9998
    assert data["subtotal_cents"] == 9998 and data["currency"] == "USD"
    assert data["lines"] == [
        {
            "id": db.session.scalar(select(OrderLine.id).where(OrderLine.sku == kb.sku)),
            "sku": kb.sku,
            "name": "Keyboard",
            "unit_price_cents": 4999,
            "quantity": 2,
            "line_total_cents": 9998,
            "discount_cents": 0,
            "tax_cents": 0,
            "tax_rate_bp": 0,
        }
    ]
    assert data["shipping_address"]["country"] == "GB" and data["payment_provider"] == "manual"
    assert data["events"][0]["to"] == "pending_payment" and data["events"][0]["from"] is None
    assert "note" not in data["events"][0] and "email" not in data
    assert stock_and_ledger(kb.id) == (3, 3)
    assert len(mail.outbox()) == 1

    got = client.get(f"/api/v1/orders/{data['number']}", headers=h).get_json()["data"]
    assert got["number"] == data["number"] and got["lines"] == data["lines"]
    listing = client.get("/api/v1/orders", headers=h).get_json()
    assert [o["number"] for o in listing["data"]] == [data["number"]]
    assert listing["meta"]["total"] == 1
    # The cart was emptied: ordering again is a conflict, not a second order.
    again = client.post("/api/v1/orders", json={"shipping_address": ADDRESS}, headers=h)
    assert again.status_code == 409 and "cart is empty" in again.get_json()["detail"]


def test_api_out_of_stock_is_409_and_changes_nothing(client, db):
    user = make_user()
    ok = make_product(name="Plenty", stock=50)
    scarce = make_product(name="Scarce widget", stock=2)
    db.session.commit()
    carts.add_item(carts.get_user_cart(user.id, create=True), ok.sku, 5)
    carts.add_item(carts.get_user_cart(user.id, create=True), scarce.sku, 2)
    db.session.commit()
    scarce.stock = 1  # sold elsewhere (ledger adjusted as a staff edit)
    db.session.add(StockMovement(product_id=scarce.id, delta=-1, reason="staff_edit"))
    db.session.commit()
    resp = client.post("/api/v1/orders", json={"shipping_address": ADDRESS}, headers=bearer_headers(user))
    assert resp.status_code == 409
    body = resp.get_json()
    assert body["title"] == "Out of stock"
    assert "Scarce widget" in body["detail"] and "2 requested, 1 left" in body["detail"]
    assert _order_count(db) == 0
    assert stock_and_ledger(ok.id) == (50, 50) and stock_and_ledger(scarce.id) == (1, 1)
    assert db.session.scalar(select(func.count(CartItem.id))) == 2
    assert mail.outbox() == []


def test_api_validation_and_unknown_provider(client, db, app):
    user = make_user()
    kb = make_product(stock=5)
    db.session.commit()
    carts.add_item(carts.get_user_cart(user.id, create=True), kb.sku, 1)
    db.session.commit()
    h = bearer_headers(user)
    resp = client.post("/api/v1/orders", json={"shipping_address": {"name": "x", "country": "ZZ"}}, headers=h)
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert "shipping_address" in errors and "country" in errors["shipping_address"]
    resp = client.post(
        "/api/v1/orders", json={"shipping_address": ADDRESS, "payment_provider": "bitcoin"}, headers=h
    )
    assert resp.status_code == 422 and "payment_provider" in resp.get_json()["errors"]
    app.config["PAYMENT_PROVIDERS"] = ["manual"]
    resp = client.post(
        "/api/v1/orders", json={"shipping_address": ADDRESS, "payment_provider": "test"}, headers=h
    )
    assert resp.status_code == 422
    assert _order_count(db) == 0 and stock_and_ledger(kb.id) == (5, 5)


def test_api_expected_total_guards_against_price_changes(client, db):
    user = make_user()
    kb = make_product(price_cents=1000, stock=5)
    db.session.commit()
    carts.add_item(carts.get_user_cart(user.id, create=True), kb.sku, 1)
    kb.price_cents = 1200
    db.session.commit()
    h = bearer_headers(user)
    resp = client.post(
        "/api/v1/orders", json={"shipping_address": ADDRESS, "expected_total_cents": 1000}, headers=h
    )
    assert resp.status_code == 409 and "Prices changed" in resp.get_json()["detail"]
    assert _order_count(db) == 0


def test_api_idempotency_key(client, db):
    user, other = make_user(), make_user()
    kb = make_product(stock=10)
    db.session.commit()
    h = bearer_headers(user)
    carts.add_item(carts.get_user_cart(user.id, create=True), kb.sku, 2)
    db.session.commit()
    body = {"shipping_address": ADDRESS, "payment_provider": "manual"}
    first = client.post("/api/v1/orders", json=body, headers={**h, "Idempotency-Key": "order-42"})
    assert first.status_code == 201
    # Same key, same body (keys in another order): the same order, no second stock change.
    carts.add_item(carts.get_user_cart(user.id, create=True), kb.sku, 1)
    db.session.commit()
    reordered = {"payment_provider": "manual", "shipping_address": dict(reversed(list(ADDRESS.items())))}
    second = client.post("/api/v1/orders", json=reordered, headers={**h, "Idempotency-Key": "order-42"})
    assert second.status_code == 201 and second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json()["data"]["number"] == first.get_json()["data"]["number"]
    assert _order_count(db) == 1 and stock_and_ledger(kb.id) == (8, 8)
    assert len(mail.outbox()) == 1
    # Same key, different body: refused.
    third = client.post(
        "/api/v1/orders",
        json=dict(body, payment_provider="test"),
        headers={**h, "Idempotency-Key": "order-42"},
    )
    assert third.status_code == 422 and "Idempotency-Key" in third.get_json()["errors"]
    assert _order_count(db) == 1
    # Keys are per user: another user's identical key is independent.
    carts.add_item(carts.get_user_cart(other.id, create=True), kb.sku, 1)
    db.session.commit()
    resp = client.post(
        "/api/v1/orders", json=body, headers={**bearer_headers(other), "Idempotency-Key": "order-42"}
    )
    assert resp.status_code == 201 and resp.get_json()["data"]["number"] != first.get_json()["data"]["number"]
    assert db.session.scalar(select(func.count(IdempotencyKey.id))) == 2
    bad = client.post("/api/v1/orders", json=body, headers={**h, "Idempotency-Key": "x" * 300})
    assert bad.status_code == 422


def test_failed_order_does_not_burn_the_idempotency_key(client, db):
    user = make_user()
    kb = make_product(stock=1)
    db.session.commit()
    carts.add_item(carts.get_user_cart(user.id, create=True), kb.sku, 1)
    kb.stock = 0
    db.session.add(StockMovement(product_id=kb.id, delta=-1, reason="staff_edit"))
    db.session.commit()
    h = {**bearer_headers(user), "Idempotency-Key": "retry-me"}
    assert client.post("/api/v1/orders", json={"shipping_address": ADDRESS}, headers=h).status_code == 409
    assert db.session.scalar(select(func.count(IdempotencyKey.id))) == 0
    kb.stock = 1
    db.session.add(StockMovement(product_id=kb.id, delta=1, reason="staff_edit"))
    db.session.commit()
    assert client.post("/api/v1/orders", json={"shipping_address": ADDRESS}, headers=h).status_code == 201


def test_cart_and_order_stay_apart(app, db):
    """Placing an order copies the cart into lines; the cart rows are not the order's."""
    user = make_user()
    kb = make_product(stock=3)
    db.session.commit()
    carts.add_item(carts.get_user_cart(user.id, create=True), kb.sku, 1)
    from shop.orders.checkout import place_order

    result = place_order(
        cart=carts.get_user_cart(user.id), user_id=user.id, email=user.email, shipping_address=ADDRESS
    )
    db.session.commit()
    assert result.created and result.order.lines[0].sku == kb.sku
    assert db.session.scalar(select(func.count(Cart.id))) == 1  # the cart stays, empty
    assert db.session.scalar(select(func.count(CartItem.id))) == 0


def test_idempotency_keys_are_kept_a_day_then_forgotten(client, db, app):
    from datetime import timedelta

    from shop.dbtypes import utcnow

    user = make_user()
    kb = make_product(stock=10)
    db.session.commit()
    h = {**bearer_headers(user), "Idempotency-Key": "daily"}
    carts.add_item(carts.get_user_cart(user.id, create=True), kb.sku, 1)
    db.session.commit()
    first = client.post("/api/v1/orders", json={"shipping_address": ADDRESS}, headers=h).get_json()["data"]
    key = db.session.scalar(select(IdempotencyKey))
    # A shorter configured TTL is not honoured: keys live at least 24 hours.
    app.config["IDEMPOTENCY_KEY_TTL"] = timedelta(hours=1)
    key.created_at = utcnow() - timedelta(hours=23)
    db.session.commit()
    replay = client.post("/api/v1/orders", json={"shipping_address": ADDRESS}, headers=h)
    assert replay.status_code == 201 and replay.get_json()["data"]["number"] == first["number"]
    key.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    runner = app.test_cli_runner()
    assert "Deleted 1 expired" in runner.invoke(args=["shop", "purge-idempotency-keys"]).output
    carts.add_item(carts.get_user_cart(user.id, create=True), kb.sku, 1)
    db.session.commit()
    fresh = client.post("/api/v1/orders", json={"shipping_address": ADDRESS}, headers=h)
    assert fresh.status_code == 201 and fresh.get_json()["data"]["number"] != first["number"]
    assert _order_count(db) == 2


def test_allocate_refuses_cleanly_and_records_nothing(app, db):
    from shop.catalog import stock
    from shop.exceptions import OutOfStock

    p = make_product(name="Tripod", stock=2)
    db.session.commit()
    with pytest.raises(OutOfStock, match="Not enough stock for Tripod: 3 requested, 2 left."):
        stock.allocate(p.id, 3, None, sku="Tripod")
    p.status = "archived"
    db.session.commit()
    with pytest.raises(OutOfStock, match="Tripod is no longer sold."):
        stock.allocate(p.id, 1, None, sku="Tripod")
    db.session.rollback()
    assert stock_and_ledger(p.id) == (2, 2)


def test_checkout_of_archived_product_is_409_naming_it(client, db):
    user = make_user()
    p = make_product(name="Old camera", stock=5)
    db.session.commit()
    carts.add_item(carts.get_user_cart(user.id, create=True), p.sku, 1)
    p.status = "archived"
    db.session.commit()
    resp = client.post("/api/v1/orders", json={"shipping_address": ADDRESS}, headers=bearer_headers(user))
    assert resp.status_code == 409 and "Old camera is no longer sold" in resp.get_json()["detail"]
    assert _order_count(db) == 0 and stock_and_ledger(p.id) == (5, 5)


def test_api_address_rules_apply_to_the_text_as_sent_then_it_is_trimmed(client, db):
    user = make_user()
    kb = make_product(stock=5)
    db.session.commit()
    h = bearer_headers(user)
    client.post("/api/v1/cart/items", json={"sku": kb.sku}, headers=h)
    cases = [
        ({"name": " \t"}, "name"),  # nothing but whitespace
        ({"city": "\x1e"}, "city"),  # a control character Python counts as whitespace
        ({"postal_code": " N1 9GU"}, "postal_code"),  # must start with a letter or digit
        ({"region": "x" * 101}, "region"),  # the limit counts the text as sent
    ]
    for change, field in cases:
        resp = client.post("/api/v1/orders", json={"shipping_address": {**ADDRESS, **change}}, headers=h)
        assert resp.status_code == 422, change
        assert set(resp.get_json()["errors"]["shipping_address"]) == {field}, change
    padded = {**ADDRESS, "name": "  Grace Hopper ", "postal_code": "N1 9GU "}
    resp = client.post("/api/v1/orders", json={"shipping_address": padded}, headers=h)
    assert resp.status_code == 201
    address = resp.get_json()["data"]["shipping_address"]
    assert (address["name"], address["postal_code"]) == ("Grace Hopper", "N1 9GU")
