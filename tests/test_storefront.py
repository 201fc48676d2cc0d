"""The storefront's defects, each pinned without a browser (the browser suite,
tests/test_browser_storefront.py, walks the same pages in Chromium): plurals, registration
errors all at once, the one cart quantity limit, the product page's breadcrumb, spec units and
model, the signed-in password change, the admin's role on order events, labelled search
landmarks, "Find your order", the order mail's wording, the home page's showcase and the
brand's theme stylesheet."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from shop.auth import services as auth_services
from shop.auth.models import LoginSession, User
from shop.catalog.display import display_title, model_adds_to_title, spec_value
from shop.catalog.showcase import best_sellers, featured_products
from shop.orders import cart as carts
from shop.orders import notifications
from shop.orders.checkout import place_order
from shop.orders.models import CartItem, Order
from shop.templating import theme_css
from tests.factories import ADDRESS, PASSWORD, make_category, make_product, make_user, page_text, sign_in


def _place(db, email: str, product, quantity: int = 1) -> Order:
    """An order of ``quantity`` of ``product`` by a new customer with ``email`` (manual payment)."""
    user = make_user(email=email)
    cart = carts.get_user_cart(user.id, create=True)
    carts.add_item(cart, product.sku, quantity)
    db.session.commit()
    order = place_order(
        cart=cart, email=email, shipping_address=dict(ADDRESS), user_id=user.id, payment_provider="manual"
    ).order
    db.session.commit()
    return order


# --- plurals (Flask-Babel ngettext) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("merged", "text"),
    [
        (1, "1 product from before you logged in was added"),
        (2, "2 products from before you logged in were added"),
    ],
)
def test_the_cart_merge_message_is_plural_only_for_more_than_one(db, merged, text):
    user = make_user()
    guest = carts.new_guest_cart()
    for _ in range(merged):
        carts.add_item(guest, make_product(stock=5).sku, 1)
    db.session.commit()
    messages = carts.merge_carts(guest, carts.get_user_cart(user.id, create=True))
    assert messages[0] == f"{text} to your cart."


def test_listing_counts_and_the_cart_caption_use_plurals(client, db):
    product = make_product(name="Only one")
    db.session.commit()
    listing = page_text(client.get("/products"))
    assert "1 product" in listing and "1 products" not in listing
    client.post("/cart/add", data={"sku": product.sku, "quantity": 1})
    assert re.search(r"<caption[^>]*>1 item</caption>", page_text(client.get("/cart")))
    client.post("/cart/add", data={"sku": product.sku, "quantity": 2})
    assert re.search(r"<caption[^>]*>3 items</caption>", page_text(client.get("/cart")))


# --- registration: every error at once ------------------------------------------------------


def test_register_shows_every_error_after_one_submit(client, db):
    resp = client.post(
        "/auth/register",
        data={"email": "not-an-address", "password": "password", "confirm": "something else"},
    )
    html = page_text(resp)
    feedback = re.findall(r'<div class="invalid-feedback">([^<]+)</div>', html)
    assert "The passwords differ." in feedback
    assert "This password is too common; choose another." in feedback
    assert any("@" in f for f in feedback), feedback  # the address's own error
    assert db.session.scalar(select(User)) is None


def test_register_says_taken_and_weak_together(client, db):
    make_user(email="ada@example.com")
    db.session.commit()
    html = page_text(
        client.post(
            "/auth/register", data={"email": "ADA@example.com", "password": "password", "confirm": "password"}
        )
    )
    assert "Already registered." in html and "too common" in html


def test_the_api_lists_every_registration_problem(client, db):
    resp = client.post("/api/v1/auth/register", json={"email": "nope", "password": "password"})
    assert resp.status_code == 422
    errors = resp.get_json()["errors"]
    assert set(errors) == {"email", "password"}


# --- one quantity limit ---------------------------------------------------------------------


def test_the_quantity_boxes_and_the_forms_share_the_server_limit(app, client, db):
    product = make_product(stock=500, slug="bulk")
    db.session.commit()
    app.config["MAX_CART_QUANTITY"] = 40
    page = page_text(client.get("/p/bulk"))
    assert 'max="40"' in page
    client.post("/cart/add", data={"sku": product.sku, "quantity": 41})
    assert db.session.scalar(select(CartItem)) is None  # refused: above the limit
    client.post("/cart/add", data={"sku": product.sku, "quantity": 40})
    cart_page = page_text(client.get("/cart"))
    assert re.search(
        r'class="form-control form-control-sm qty-input" type="number" min="0" max="40"', cart_page
    )
    assert 'max="999"' not in cart_page
    item = db.session.scalar(select(CartItem))
    assert item.quantity == 40
    client.post(f"/cart/items/{item.id}", data={"quantity": 41})
    db.session.expire_all()
    assert db.session.get(CartItem, item.id).quantity == 40  # refused: above the limit


# --- product page ---------------------------------------------------------------------------


def test_spec_units_come_from_the_feature_name():
    assert spec_value("Cable length", "0.3") == "0.3 m"
    assert spec_value("Frequency", "550") == "550 MHz"
    assert spec_value("Weight", "33") == "33 g"
    assert spec_value("Package width", "90") == "90 mm"
    assert spec_value("Display diagonal", "15.6") == "15.6″"
    assert spec_value("Processor frequency", "2.13") == "2.13 GHz"
    assert spec_value("Processor frequency", "400") == "400 MHz"
    assert spec_value("Product colour", "Grey") == "Grey"  # not a number
    assert spec_value("Internal memory", "234") == "234"  # MB or GB: the source does not say


def test_display_titles_drop_the_brand_and_cut_at_a_word():
    assert display_title("StarTech.com DB9 RS232 Serial Null Modem Adapter - M/F", "StarTech.com") == (
        "DB9 RS232 Serial Null Modem Adapter - M/F"
    )
    long = "HP Pavilion dv7-1211ea notebook 43.9 cm (17.3 inch) Intel Core 2 Duo 4 GB DDR2-SDRAM 320 GB HDD"
    short = display_title(long, "HP")
    assert short.endswith("…") and len(short) <= 64 and not short.startswith("HP ")
    assert short[:-1] == long[3 : 3 + len(short) - 1]  # a prefix, cut between words
    assert display_title("HP", "HP") == "HP"


def test_model_is_shown_only_when_the_title_lacks_it():
    assert not model_adds_to_title(
        "DB9 RS232 Serial Null Modem Adapter - M/F", "StarTech.com DB9 RS232 serial null modem adapter - M/F"
    )
    assert model_adds_to_title("20L5", "Lenovo ThinkPad T480 laptop")


def test_the_product_page_has_a_breadcrumb_link_per_level_units_and_no_repeated_model(client, db):
    networking = make_category("Networking", slug="networking")
    cables = make_category("Network cables", parent=networking, slug="network-cables")
    make_product(
        "StarTech.com Cat6 patch cable",
        brand="StarTech.com",
        slug="cat6",
        category=cables,
        model="Cat6 patch cable",
        attributes={"Cable length": "0.3", "Frequency": "550"},
    )
    db.session.commit()
    html = page_text(client.get("/p/cat6"))
    crumbs = html.split('aria-label="breadcrumb"')[1].split("</nav>")[0]
    assert re.findall(r'<a href="([^"]+)">([^<]+)</a>', crumbs) == [
        ("/", "Home"),
        ("/c/networking", "Networking"),
        ("/c/network-cables", "Network cables"),
    ]
    assert "<td>0.3 m</td>" in html and "<td>550 MHz</td>" in html
    assert "Model" not in html.split("product-detail")[1].split("product-price")[0]


# --- account: change the password while signed in -------------------------------------------


def test_a_signed_in_person_changes_the_password_without_the_mail_flow(app, client, db):
    user = make_user(email="ada@example.com")
    other_browser = app.test_client()
    sign_in(other_browser, user)
    sign_in(client, user)
    account = page_text(client.get("/account"))
    assert 'href="/account/password"' in account and 'href="/auth/reset">Change password' not in account

    wrong = client.post(
        "/account/password",
        data={
            "current_password": "nope",
            "password": "difference-engine-1822",
            "confirm": "difference-engine-1822",
        },
    )
    assert wrong.status_code == 422 and "This is not your current password." in page_text(wrong)

    resp = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "password": "difference-engine-1822",
            "confirm": "difference-engine-1822",
        },
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account")
    db.session.expire_all()
    assert auth_services.authenticate("ada@example.com", "difference-engine-1822").id == user.id
    assert client.get("/account").status_code == 200  # this browser stays signed in
    assert other_browser.get("/account").status_code == 302  # every other login ended
    assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 1  # this browser's new one


# --- admin order events, search landmarks, Find your order ---------------------------------


def test_admin_order_events_name_an_admin_admin(app, client, db):
    product = make_product(stock=5)
    db.session.commit()
    order = _place(db, "buyer@example.com", product)
    admin = make_user(email="root@example.com", role="admin")
    staff = make_user(email="clerk@example.com", role="staff")
    sign_in(client, admin)
    client.post(f"/admin/orders/{order.number}/status", data={"to_status": "paid", "note": ""})
    clerk = app.test_client()
    sign_in(clerk, staff)
    html = page_text(clerk.get(f"/admin/orders/{order.number}"))
    roles = re.findall(r'root@example.com <span class="badge[^"]*actor-role">(\w+)</span>', html)
    assert roles == ["admin"]


def test_admin_pages_label_each_search_landmark(client, db):
    sign_in(client, make_user(role="admin"))
    for path in ("/admin/products", "/admin/orders", "/admin/users", "/admin/audit", "/admin/discount-codes"):
        html = page_text(client.get(path))
        forms = re.findall(r"<form[^>]*role=\"search\"[^>]*>", html)
        labels = [re.search(r'aria-label="([^"]+)"', f) for f in forms]
        assert len(forms) == 2 and all(labels), (path, forms)
        assert len({m.group(1) for m in labels}) == 2, path


def test_guests_find_the_order_lookup_from_every_page_customers_do_not(client, db):
    assert 'href="/orders/lookup">Find your order' in page_text(client.get("/"))
    assert 'href="/orders/lookup">Find your order' in page_text(client.get("/cart"))
    sign_in(client, make_user())
    header = page_text(client.get("/")).split("</header>")[0]
    assert "Find your order" not in header


# --- the order mail -------------------------------------------------------------------------


def test_the_order_mail_says_waiting_for_payment_until_it_is_paid(app, db):
    product = make_product(stock=5)
    db.session.commit()
    order = _place(db, "buyer@example.com", product)
    assert order.status == "pending_payment"
    waiting = notifications.confirmation_mail(order, "http://localhost/orders/x")
    assert waiting.subject.endswith("received, waiting for payment") and "confirmed" not in waiting.subject
    assert "waiting for your payment" in waiting.body and "It is confirmed" not in waiting.body
    order.status = "paid"
    paid = notifications.confirmation_mail(order, "http://localhost/orders/x")
    assert (
        paid.subject.endswith(f"order {order.number} confirmed") and "It is confirmed and paid." in paid.body
    )
    assert "waiting for your payment" not in paid.body


# --- home page and brand --------------------------------------------------------------------


def test_best_sellers_rank_units_sold_and_featured_spreads_over_categories(app, db):
    a_top, b_top = make_category("Computers"), make_category("Printing")
    a, b = make_category("Laptops", parent=a_top), make_category("Ink", parent=b_top)
    laptops = [make_product(f"Laptop {n}", category=a, stock=9) for n in range(3)]
    ink = make_product("Ink cartridge", category=b, stock=9)
    db.session.commit()
    ctx = app.test_request_context()
    ctx.push()
    assert best_sellers() == []
    _place(db, "one@example.com", laptops[1], 3)
    _place(db, "two@example.com", ink, 1)
    cancelled = _place(db, "three@example.com", laptops[2], 5)
    cancelled.status = "cancelled"
    db.session.commit()
    assert [p["name"] for p in best_sellers()] == ["Laptop 1", "Ink cartridge"]
    featured = featured_products(2)
    assert {p["category"]["slug"] for p in featured} == {a.slug, b.slug}
    ctx.pop()


def test_the_home_page_shows_products_before_the_category_index(client, db):
    make_product("A laptop", category=make_category("Laptops", parent=make_category("Computers")))
    db.session.commit()
    html = page_text(client.get("/"))
    assert html.index("Featured products") < html.index("A laptop") < html.index("Shop by category")


def test_the_theme_stylesheet_takes_the_brand_colours_from_the_settings(app, client):
    app.config.update(SHOP_BRAND_COLOR="#336699", SHOP_ACCENT_COLOR="#ff8800")
    resp = client.get("/theme.css")
    css = resp.get_data(as_text=True)
    assert resp.mimetype == "text/css"
    assert (
        "--shop-brand: #336699" in css
        and "--bs-primary-rgb: 51, 102, 153" in css
        and "--shop-accent: #ff8800" in css
    )
    assert theme_css({"SHOP_BRAND_COLOR": "not a colour"}).count("#0b4f6c") >= 1  # the default
    html = page_text(client.get("/"))
    assert '<link rel="stylesheet" href="/theme.css">' in html and 'src="/static/img/logo.svg"' in html
