"""Cart over HTML and JSON: add, change, remove, guest session cart, merge on login,
and the re-check against current price and stock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from shop.dbtypes import utcnow
from shop.extensions import jobs
from shop.jobs import tasks
from shop.orders import cart as carts
from shop.orders.models import Cart, CartItem
from tests.factories import GB_ADDRESS, bearer_headers, make_product, make_user, page_text


def _guest_items(db, client):
    """``{sku: (quantity, seen_price_cents)}`` of the guest cart this browser's session holds."""
    with client.session_transaction() as sess:
        token = sess.get("cart_token")
    db.session.expire_all()
    rows = db.session.scalars(
        select(CartItem).join(Cart).where(Cart.token == token, Cart.user_id.is_(None)).order_by(CartItem.id)
    ).all()
    return {i.product.sku: (i.quantity, i.seen_price_cents) for i in rows}


def _items(db, user_id):
    """``{sku: quantity}`` of the user's stored cart."""
    db.session.expire_all()
    rows = db.session.scalars(
        select(CartItem).join(Cart).where(Cart.user_id == user_id).order_by(CartItem.id)
    ).all()
    return {i.product.sku: i.quantity for i in rows}


def test_html_cart_add_update_remove_for_signed_in_shopper(client, auth, db):
    user = make_user()
    lamp = make_product(name="Desk lamp", price_cents=2500, stock=5)
    db.session.commit()
    auth.login(user.email)

    resp = client.post("/cart/add", data={"sku": lamp.sku, "quantity": "2"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/cart")
    assert _items(db, user.id) == {lamp.sku: 2}
    page = client.get("/cart")
    body = page_text(page)
    assert page.status_code == 200
    assert "Desk lamp" in body and "$50.00" in body and "Added 2 × Desk lamp" in body

    item_id = db.session.scalar(select(CartItem.id))
    resp = client.post(f"/cart/items/{item_id}", data={"quantity": "4"})
    assert resp.status_code == 303
    assert _items(db, user.id) == {lamp.sku: 4}

    # More than the stock is refused with the product's name and leaves the line alone.
    resp = client.post(f"/cart/items/{item_id}", data={"quantity": "6"}, follow_redirects=True)
    assert "Only 5 left of Desk lamp" in page_text(resp)
    assert _items(db, user.id) == {lamp.sku: 4}

    resp = client.post(f"/cart/items/{item_id}/remove")
    assert resp.status_code == 303
    assert _items(db, user.id) == {}
    assert "Your cart is empty" in page_text(client.get("/cart"))


def test_html_cart_add_refuses_unknown_sku_and_bad_quantity(client, auth, db):
    user = make_user()
    lamp = make_product(stock=3)
    db.session.commit()
    auth.login(user.email)
    resp = client.post("/cart/add", data={"sku": "NOPE", "quantity": "1"}, follow_redirects=True)
    assert "No product with SKU 'NOPE'" in page_text(resp)
    resp = client.post("/cart/add", data={"sku": lamp.sku, "quantity": "0"}, follow_redirects=True)
    assert "Quantity" in page_text(resp)
    resp = client.post("/cart/add", data={"sku": lamp.sku, "quantity": "4"}, follow_redirects=True)
    assert "Only 3 left of" in page_text(resp)
    assert _items(db, user.id) == {}


def test_guest_cart_is_a_cart_row_found_by_the_session_token(client, db):
    lamp = make_product(name="Guest lamp", price_cents=1000, stock=4)
    db.session.commit()
    client.get("/cart")
    assert db.session.scalar(select(Cart)) is None  # looking at an empty cart stores nothing
    client.post("/cart/add", data={"sku": lamp.sku, "quantity": "1"})
    client.post("/cart/add", data={"sku": lamp.sku, "quantity": "2"})
    assert _guest_items(db, client) == {lamp.sku: (3, 1000)}
    guest_cart = db.session.scalar(select(Cart))
    assert guest_cart.user_id is None and len(guest_cart.token) >= 40  # unguessable
    body = page_text(client.get("/cart"))
    assert "Guest lamp" in body and "$30.00" in body

    item_id = db.session.scalar(select(CartItem.id))
    client.post(f"/cart/items/{item_id}", data={"quantity": "1"})
    assert _guest_items(db, client) == {lamp.sku: (1, 1000)}
    client.post(f"/cart/items/{item_id}/remove")
    assert _guest_items(db, client) == {}
    # A line the guest does not have is "not found", not an error page about someone else.
    resp = client.post("/cart/items/999/remove", follow_redirects=True)
    assert resp.status_code == 404
    assert "That item is no longer in your cart." in page_text(resp)

    # Another browser has its own cart and cannot touch this one's lines.
    client.post("/cart/add", data={"sku": lamp.sku, "quantity": "2"})
    item_id = db.session.scalar(select(CartItem.id))
    other = client.application.test_client()
    assert other.post(f"/cart/items/{item_id}", data={"quantity": "1"}).status_code == 404
    assert other.post(f"/cart/items/{item_id}/remove").status_code == 404
    assert "Your cart is empty" in page_text(other.get("/cart"))
    assert _guest_items(db, client) == {lamp.sku: (2, 1000)}


def test_cart_page_says_what_changed_since_last_look(client, auth, db):
    user = make_user()
    bag = make_product(name="Laptop bag", price_cents=5495, stock=5)
    db.session.commit()
    auth.login(user.email)
    client.post("/cart/add", data={"sku": bag.sku, "quantity": "3"})
    bag.price_cents = 4995
    bag.stock = 2
    db.session.commit()

    body = page_text(client.get("/cart"))
    assert "The price of Laptop bag changed from $54.95 to $49.95." in body
    assert "Only 2 left of Laptop bag: quantity changed from 3 to 2." in body
    item = db.session.scalar(select(CartItem))
    db.session.refresh(item)
    assert (item.quantity, item.seen_price_cents) == (2, 4995)
    # Once seen, the notice is not repeated.
    assert "changed from" not in page_text(client.get("/cart"))


def test_guest_cart_keeps_the_seen_price_and_notices_changes(client, db):
    bag = make_product(name="Sleeve", price_cents=5495, stock=5)
    db.session.commit()
    client.post("/cart/add", data={"sku": bag.sku, "quantity": "1"})
    bag.price_cents = 4995
    db.session.commit()
    body = page_text(client.get("/cart"))
    assert "The price of Sleeve changed from $54.95 to $49.95." in body
    assert _guest_items(db, client) == {bag.sku: (1, 4995)}


def test_guest_cart_is_merged_on_login_added_and_capped_at_stock(client, auth, db):
    user = make_user()
    mouse = make_product(name="Mouse", stock=10)
    cable = make_product(name="Cable", stock=3)
    gone = make_product(name="Old modem", stock=5)
    db.session.commit()
    carts.add_item(carts.get_user_cart(user.id, create=True), mouse.sku, 2)
    carts.add_item(carts.get_user_cart(user.id, create=True), cable.sku, 2)
    db.session.commit()

    client.post("/cart/add", data={"sku": mouse.sku, "quantity": "3"})
    client.post("/cart/add", data={"sku": cable.sku, "quantity": "2"})
    client.post("/cart/add", data={"sku": gone.sku, "quantity": "1"})
    gone.status = "archived"
    db.session.commit()

    resp = auth.login(user.email)
    assert resp.status_code == 302
    assert _items(db, user.id) == {mouse.sku: 5, cable.sku: 3}
    body = page_text(client.get("/cart"))
    assert "Mouse: quantities combined (2 + 3 = 5)." in body
    assert "Only 3 of Cable can be ordered: your cart now has 3." in body
    assert "Old modem from your earlier cart is no longer sold and was not added." in body
    with client.session_transaction() as sess:
        assert not sess.get("cart_token")
    assert db.session.scalar(select(Cart).where(Cart.user_id.is_(None))) is None  # merged and gone


def test_merge_carts_service_policy(app, db):
    user = make_user()
    a = make_product(name="A", stock=9, price_cents=150)
    b = make_product(name="B", stock=1)
    db.session.commit()
    guest = carts.new_guest_cart()
    carts.add_item(guest, a.sku, 9)
    carts.add_item(guest, b.sku, 1)
    db.session.commit()
    a.stock, a.price_cents, b.stock = 4, 100, 0
    db.session.commit()
    messages = carts.merge_carts(guest, carts.get_user_cart(user.id, create=True))
    db.session.commit()
    assert _items(db, user.id) == {a.sku: 4}
    item = db.session.scalar(select(CartItem))
    assert item.seen_price_cents == 150  # the guest saw 1.50; the cart page will say it changed
    assert "Only 4 of A can be ordered: your cart now has 4." in messages
    assert "B is sold out and was not added to your cart." in messages
    assert messages[0] == "1 product from before you logged in was added to your cart."
    assert db.session.get(Cart, guest.id) is None  # the guest cart is gone
    empty = carts.new_guest_cart()
    assert carts.merge_carts(empty, carts.get_user_cart(user.id)) == []


def test_purge_carts_deletes_only_abandoned_guest_carts(app, db):
    user = make_user()
    mug = make_product(stock=5)
    db.session.commit()
    old_guest, new_guest = carts.new_guest_cart(), carts.new_guest_cart()
    customer = carts.get_user_cart(user.id, create=True)
    for cart in (old_guest, new_guest, customer):
        carts.add_item(cart, mug.sku, 1)
    db.session.commit()
    long_ago = utcnow() - timedelta(days=31)
    db.session.execute(
        update(Cart).where(Cart.id.in_([old_guest.id, customer.id])).values(updated_at=long_ago)
    )
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["shop", "purge-carts"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 guest carts" in result.output
    db.session.expire_all()
    left = set(db.session.scalars(select(Cart.id)))
    assert left == {new_guest.id, customer.id}  # customers' carts are never purged
    assert db.session.scalar(select(func.count()).select_from(CartItem)) == 2
    result = app.test_cli_runner().invoke(args=["shop", "purge-carts", "--older-than-days", "0"])
    assert result.exit_code != 0  # an age of 0 would delete carts in use


def test_api_cart_crud_and_ownership(client, db):
    alice, bob = make_user(), make_user()
    mug = make_product(name="Mug", price_cents=800, stock=6)
    db.session.commit()
    h_alice, h_bob = bearer_headers(alice), bearer_headers(bob)

    resp = client.post("/api/v1/cart/items", json={"sku": mug.sku, "quantity": 2}, headers=h_alice)
    assert resp.status_code == 201
    data = resp.get_json()["data"]
    assert data["subtotal_cents"] == 1600 and data["item_count"] == 2 and data["can_checkout"] is True
    line = data["items"][0]
    assert line["sku"] == mug.sku and line["quantity"] == 2 and line["product"]["slug"] == mug.slug
    item_id = line["id"]

    resp = client.patch(f"/api/v1/cart/items/{item_id}", json={"quantity": 5}, headers=h_alice)
    assert resp.status_code == 200 and resp.get_json()["data"]["items"][0]["quantity"] == 5

    resp = client.patch(f"/api/v1/cart/items/{item_id}", json={"quantity": 7}, headers=h_alice)
    assert resp.status_code == 409
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert "Only 6 left of Mug" in resp.get_json()["detail"]

    # Bob cannot see, change or delete Alice's line.
    assert (
        client.patch(f"/api/v1/cart/items/{item_id}", json={"quantity": 1}, headers=h_bob).status_code == 404
    )
    assert client.delete(f"/api/v1/cart/items/{item_id}", headers=h_bob).status_code == 404
    assert client.get("/api/v1/cart", headers=h_bob).get_json()["data"]["items"] == []
    assert _items(db, alice.id) == {mug.sku: 5}

    resp = client.delete(f"/api/v1/cart/items/{item_id}", headers=h_alice)
    assert resp.status_code == 200 and resp.get_json()["data"]["items"] == []
    assert _items(db, alice.id) == {}


def test_api_lines_are_gone_once_the_order_is_placed(client, db):
    buyer = make_user()
    mug = make_product(name="Mug", price_cents=800, stock=6)
    db.session.commit()
    headers = bearer_headers(buyer, scopes=["orders"])
    resp = client.post("/api/v1/cart/items", json={"sku": mug.sku, "quantity": 1}, headers=headers)
    item_id = resp.get_json()["data"]["items"][0]["id"]
    order = client.post(
        "/api/v1/orders",
        json={
            "shipping_address": GB_ADDRESS,
            "payment_provider": "manual",
        },
        headers=headers,
    )
    assert order.status_code == 201, order.get_json()
    # Placing the order emptied the cart: its line is gone, as after a removal.
    for resp in (
        client.delete(f"/api/v1/cart/items/{item_id}", headers=headers),
        client.patch(f"/api/v1/cart/items/{item_id}", json={"quantity": 2}, headers=headers),
    ):
        assert resp.status_code == 404 and resp.get_json()["detail"] == "That item is no longer in your cart."
    assert client.get("/api/v1/cart", headers=headers).get_json()["data"]["items"] == []


def test_api_cart_validation_and_auth(client, db):
    user = make_user()
    mug = make_product(stock=2)
    db.session.commit()
    h = bearer_headers(user)
    assert client.get("/api/v1/cart").status_code == 401
    resp = client.post("/api/v1/cart/items", json={"quantity": "lots"}, headers=h)
    assert resp.status_code == 422
    assert set(resp.get_json()["errors"]) >= {"sku", "quantity"}
    assert client.post("/api/v1/cart/items", json={"sku": "NOPE"}, headers=h).status_code == 404
    read_only = bearer_headers(user, scopes=["read"])
    assert client.post("/api/v1/cart/items", json={"sku": mug.sku}, headers=read_only).status_code == 403


def test_api_cart_reports_price_and_stock_changes_without_changing_the_cart(client, db):
    user = make_user()
    mug = make_product(name="Mug", price_cents=5495, stock=5)
    db.session.commit()
    h = bearer_headers(user)
    client.post("/api/v1/cart/items", json={"sku": mug.sku, "quantity": 4}, headers=h)
    mug.price_cents, mug.stock = 4995, 2
    db.session.commit()
    data = client.get("/api/v1/cart", headers=h).get_json()["data"]
    line = data["items"][0]
    assert line["seen_price_cents"] == 5495 and line["unit_price_cents"] == 4995
    assert "The price of Mug changed from $54.95 to $49.95." in line["notices"]
    assert "Only 2 left of Mug (you have 4 in your cart)." in line["notices"]
    assert line["available"] is False and data["can_checkout"] is False
    assert _items(db, user.id) == {mug.sku: 4}


def test_html_other_users_cart_line_is_404(client, auth, db):
    owner, intruder = make_user(), make_user()
    mug = make_product(stock=5)
    db.session.commit()
    item = carts.add_item(carts.get_user_cart(owner.id, create=True), mug.sku, 2)
    db.session.commit()
    auth.login(intruder.email)
    assert client.post(f"/cart/items/{item.id}", data={"quantity": "1"}).status_code == 404
    assert client.post(f"/cart/items/{item.id}/remove").status_code == 404
    assert _items(db, owner.id) == {mug.sku: 2}


def test_a_daily_job_purges_abandoned_guest_carts(app, db):
    mug = make_product(stock=5)
    db.session.commit()
    old_guest = carts.new_guest_cart()
    carts.add_item(old_guest, mug.sku, 1)
    db.session.commit()
    long_ago = utcnow() - app.config["GUEST_CART_MAX_AGE"] - timedelta(minutes=1)
    db.session.execute(update(Cart).where(Cart.id == old_guest.id).values(updated_at=long_ago))
    db.session.commit()
    assert jobs.specs["purge_guest_carts"].every == timedelta(hours=24)
    assert tasks.purge_guest_carts() == 1
    assert db.session.scalar(select(func.count()).select_from(Cart)) == 0


def test_quantity_zero_removes_the_line_on_the_page_and_in_the_api(client, auth, db):
    user = make_user()
    mug, lamp = make_product(name="Mug", stock=5), make_product(name="Lamp", stock=5)
    db.session.commit()
    h = bearer_headers(user)
    client.post("/api/v1/cart/items", json={"sku": mug.sku, "quantity": 2}, headers=h)
    resp = client.post("/api/v1/cart/items", json={"sku": lamp.sku, "quantity": 1}, headers=h)
    lines = {line["sku"]: line["id"] for line in resp.get_json()["data"]["items"]}
    mug_line, lamp_line = lines[mug.sku], lines[lamp.sku]
    resp = client.patch(f"/api/v1/cart/items/{mug_line}", json={"quantity": 0}, headers=h)
    assert resp.status_code == 200
    assert [line["sku"] for line in resp.get_json()["data"]["items"]] == [lamp.sku]
    assert _items(db, user.id) == {lamp.sku: 1}
    auth.login(user.email)  # the cart page does the same with the same number
    client.post(f"/cart/items/{lamp_line}", data={"quantity": "0"})
    assert _items(db, user.id) == {}


def test_api_cart_quantity_limit_is_the_setting_and_the_document_says_it(app_factory, db):
    app = app_factory(MAX_CART_QUANTITY=5)
    client = app.test_client()
    user = make_user()
    mug = make_product(stock=50)
    db.session.commit()
    h = bearer_headers(user)
    doc = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for schema, low in (("CartItemCreate", 1), ("CartItemUpdate", 0)):
        quantity = doc[schema]["properties"]["quantity"]
        assert (quantity["minimum"], quantity["maximum"]) == (low, 5)
    resp = client.post("/api/v1/cart/items", json={"sku": mug.sku, "quantity": 6}, headers=h)
    assert resp.status_code == 422 and resp.get_json()["errors"] == {"quantity": ["Must be between 1 and 5."]}
    resp = client.post("/api/v1/cart/items", json={"sku": mug.sku, "quantity": 5}, headers=h)
    item_id = resp.get_json()["data"]["items"][0]["id"]
    resp = client.patch(f"/api/v1/cart/items/{item_id}", json={"quantity": 6}, headers=h)
    assert resp.status_code == 422 and _items(db, user.id) == {mug.sku: 5}


def test_api_adding_past_the_line_limit_is_a_conflict_with_the_cart(client, db):
    user = make_user()
    mug = make_product(stock=500)
    db.session.commit()
    h = bearer_headers(user)
    assert (
        client.post("/api/v1/cart/items", json={"sku": mug.sku, "quantity": 60}, headers=h).status_code == 201
    )
    # Valid on its own (at most 99 a request), too many for the line the cart already has.
    resp = client.post("/api/v1/cart/items", json={"sku": mug.sku, "quantity": 40}, headers=h)
    assert resp.status_code == 409 and resp.get_json()["errors"] == {"quantity": ["At most 39 more."]}
    assert _items(db, user.id) == {mug.sku: 60}
