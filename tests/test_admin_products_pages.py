"""Staff product pages: access, list search and pagination, create, edit (price and stock), archive."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from shop.catalog.models import Product, StockMovement
from tests.factories import make_category, make_product, make_user, sign_in


def login_as(client, user):
    """Log the test client in as ``user`` (a new login in the Flask-Login session)."""
    sign_in(client, user)


@pytest.fixture
def staff(db):
    user = make_user(email="staff@example.com", role="staff")
    db.session.commit()
    return user


@pytest.fixture
def staff_client(client, staff):
    login_as(client, staff)
    return client


@pytest.fixture
def leaf(db):
    top = make_category("Computers", slug="computers")
    leaf = make_category("Laptops", parent=top, slug="laptops")
    db.session.commit()
    return leaf


def input_value(html: str, name: str) -> str | None:
    """The ``value`` of the ``<input name=...>`` in ``html`` (None if absent)."""
    tag = re.search(rf'<input [^>]*name="{name}"[^>]*>', html)
    if tag is None:
        return None
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else ""


def form_data(**overrides):
    """A complete, valid product form."""
    data = {
        "sku": "NEW-1",
        "name": "Acme Ultrabook 14",
        "brand": "Acme",
        "model": "UB14",
        "category_id": "",
        "price": "52.95",
        "stock": "3",
        "status": "active",
        "description": "Light and quick.",
        "image_url": "",
    }
    data.update(overrides)
    return data


def edit_data(product, **overrides):
    """The edit form as the page would post it for ``product`` (hidden expected_stock included)."""
    data = form_data(
        sku=product.sku,
        name=product.name,
        brand=product.brand,
        model=product.model,
        category_id=str(product.category_id or ""),
        price=f"{product.price_cents / 100:.2f}",
        stock=str(product.stock),
        expected_stock=str(product.stock),
        status=product.status,
        description=product.description,
        image_url=product.image_url,
    )
    data.update(overrides)
    return data


# --- access ---------------------------------------------------------------------------------

ADMIN_PAGES = ["/admin/", "/admin/products", "/admin/products/new"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_is_sent_to_login(client, db, path):
    resp = client.get(path)
    assert resp.status_code == 302
    assert "/auth/login" in resp.headers["Location"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_customer_is_forbidden(client, db, path):
    login_as(client, make_user(role="customer"))
    db.session.commit()
    assert client.get(path).status_code == 403


def test_customer_cannot_post_edit_or_archive(client, db):
    product = make_product(price_cents=1000)
    customer = make_user(role="customer")
    db.session.commit()
    login_as(client, customer)
    assert (
        client.post(f"/admin/products/{product.id}/edit", data=edit_data(product, price="1.00")).status_code
        == 403
    )
    assert client.post(f"/admin/products/{product.id}/archive", data={"confirm": "yes"}).status_code == 403
    db.session.expire_all()
    assert product.price_cents == 1000 and product.status == "active"


def test_staff_and_admin_see_the_pages(client, db):
    for role in ("staff", "admin"):
        login_as(client, make_user(role=role))
        db.session.commit()
        resp = client.get("/admin/products")
        assert resp.status_code == 200
        assert b'<h1 class="h3 mb-0">Products</h1>' in resp.data


def test_dashboard_counts(staff_client, db):
    make_product(stock=0)
    make_product(stock=4)
    make_product(stock=9)
    make_product(status="draft")
    make_product(status="archived", stock=0)
    db.session.commit()
    html = staff_client.get("/admin/").get_data(as_text=True)

    def count(label):
        return int(re.search(rf'data-count="{re.escape(label)}">(\d+)<', html).group(1))

    assert count("Active") == 3
    assert count("Out of stock") == 1
    assert count("Low stock (1–5)") == 1
    assert count("Drafts") == 1
    assert count("Archived") == 1
    assert count("pending_payment") == 0
    assert 'href="/admin/products/new"' in html


# --- list ------------------------------------------------------------------------------------


def test_list_shows_columns_and_searches_name_sku_brand_case_insensitively(staff_client, db, leaf):
    make_product(name="ThinkPad X1 Carbon", brand="Lenovo", sku="LEN-X1", price_cents=149900, category=leaf)
    make_product(name="MacBook Air", brand="Apple", sku="APL-MBA", price_cents=99900)
    make_product(name="Galaxy Tab", brand="Samsung", sku="SAM-TAB", status="draft")
    db.session.commit()

    html = staff_client.get("/admin/products").get_data(as_text=True)
    for text in (
        "LEN-X1",
        "ThinkPad X1 Carbon",
        "Lenovo",
        "Computers &gt; Laptops",
        "$1,499.00",
        "Galaxy Tab",
    ):
        assert text in html

    html = staff_client.get("/admin/products?q=thinkpad").get_data(as_text=True)
    assert "LEN-X1" in html and "APL-MBA" not in html
    html = staff_client.get("/admin/products?q=apl-m").get_data(as_text=True)  # SKU
    assert "APL-MBA" in html and "LEN-X1" not in html
    html = staff_client.get("/admin/products?q=SAMSUNG").get_data(as_text=True)  # brand
    assert "SAM-TAB" in html and "APL-MBA" not in html
    html = staff_client.get("/admin/products?q=50%25").get_data(as_text=True)  # LIKE wildcard is literal
    assert "No products match" in html


def test_list_status_and_stock_filters(staff_client, db):
    make_product(sku="A-ACTIVE", stock=5)
    make_product(sku="A-EMPTY", stock=0)
    make_product(sku="A-DRAFT", status="draft")
    db.session.commit()
    html = staff_client.get("/admin/products?status=draft").get_data(as_text=True)
    assert "A-DRAFT" in html and "A-ACTIVE" not in html
    html = staff_client.get("/admin/products?stock=out").get_data(as_text=True)
    assert "A-EMPTY" in html and "A-ACTIVE" not in html and "A-DRAFT" not in html
    # an unknown status is ignored rather than an error
    assert staff_client.get("/admin/products?status=bogus").status_code == 200


def test_list_paginates_50_a_page_keeping_filters(staff_client, db):
    for n in range(120):
        make_product(name=f"Cable {n:03d}", sku=f"CAB{n:03d}")
    make_product(name="Mouse", sku="MOUSE")
    db.session.commit()

    page1 = staff_client.get("/admin/products?q=cable").get_data(as_text=True)
    assert "Showing 1–50 of 120 products" in page1
    assert page1.count('/edit">Edit</a>') == 50
    assert "CAB000" in page1 and "CAB049" in page1 and "CAB050" not in page1 and "MOUSE" not in page1
    assert 'href="/admin/products?page=2&amp;q=cable"' in page1

    page3 = staff_client.get("/admin/products?q=cable&page=3").get_data(as_text=True)
    assert "Showing 101–120 of 120 products" in page3
    assert "CAB100" in page3 and "CAB119" in page3 and "CAB099" not in page3

    beyond = staff_client.get("/admin/products?q=cable&page=9")
    assert beyond.status_code == 200 and "CAB0" not in beyond.get_data(as_text=True)


# --- create ----------------------------------------------------------------------------------


def test_create_with_human_price_stores_cents_and_ledger(staff_client, staff, db, leaf):
    resp = staff_client.post(
        "/admin/products/new", data=form_data(price="1,299.95", stock="7", category_id=str(leaf.id))
    )
    assert resp.status_code == 302
    product = db.session.scalar(select(Product).where(Product.sku == "NEW-1"))
    assert product.price_cents == 129995
    assert product.stock == 7 and product.category_id == leaf.id and product.status == "active"
    assert product.slug == "acme-ultrabook-14"
    assert resp.headers["Location"].endswith(f"/admin/products/{product.id}/edit")
    moves = db.session.scalars(select(StockMovement).where(StockMovement.product_id == product.id)).all()
    assert [(m.delta, m.reason, m.actor_id) for m in moves] == [(7, "staff_edit", staff.id)]
    page = staff_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Product NEW-1 created." in page
    assert input_value(page, "price") == "1299.95"


@pytest.mark.parametrize("price", ["12,5x", "-3", "52.955", "abc", ""])
def test_bad_price_is_a_form_error_and_nothing_is_saved(staff_client, db, price):
    resp = staff_client.post("/admin/products/new", data=form_data(price=price, name="Keep this name"))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "is-invalid" in html and "nothing was saved" in html
    if price:
        assert "Enter a price like 52.95" in html
        assert input_value(html, "price") == price  # what was typed is kept
    assert input_value(html, "name") == "Keep this name"
    assert db.session.scalar(select(Product).where(Product.sku == "NEW-1")) is None


def test_duplicate_sku_is_an_inline_error(staff_client, db):
    make_product(sku="TAKEN")
    db.session.commit()
    resp = staff_client.post("/admin/products/new", data=form_data(sku="TAKEN"))
    assert resp.status_code == 409
    assert "Already used by another product." in resp.get_data(as_text=True)
    assert len(db.session.scalars(select(Product).where(Product.sku == "TAKEN")).all()) == 1


def test_category_must_be_a_leaf_choice(staff_client, db, leaf):
    resp = staff_client.post("/admin/products/new", data=form_data(category_id=str(leaf.parent_id)))
    assert resp.status_code == 422
    assert db.session.scalar(select(Product).where(Product.sku == "NEW-1")) is None
    html = staff_client.get("/admin/products/new").get_data(as_text=True)
    assert f'<option value="{leaf.id}">Computers &gt; Laptops</option>' in html
    assert f'value="{leaf.parent_id}"' not in html


# --- edit ------------------------------------------------------------------------------------


def test_edit_page_shows_human_price_and_hidden_expected_stock(staff_client, db):
    product = make_product(price_cents=5295, stock=12)
    db.session.commit()
    html = staff_client.get(f"/admin/products/{product.id}/edit").get_data(as_text=True)
    assert input_value(html, "price") == "52.95"
    assert input_value(html, "expected_stock") == "12"
    assert 'type="hidden" value="12"' in html
    assert staff_client.get("/admin/products/999999/edit").status_code == 404


def test_edit_price(staff_client, db):
    product = make_product(price_cents=5295, stock=4)
    db.session.commit()
    resp = staff_client.post(f"/admin/products/{product.id}/edit", data=edit_data(product, price="49.99"))
    assert resp.status_code == 302
    db.session.expire_all()
    assert product.price_cents == 4999 and product.stock == 4
    assert db.session.scalars(select(StockMovement).where(StockMovement.reason == "staff_edit")).all() == []
    assert "Product %s saved." % product.sku in staff_client.get(resp.headers["Location"]).get_data(
        as_text=True
    )


def test_stock_edit_writes_ledger_row_with_delta_and_actor(staff_client, staff, db):
    product = make_product(stock=10)
    db.session.commit()
    resp = staff_client.post(f"/admin/products/{product.id}/edit", data=edit_data(product, stock="4"))
    assert resp.status_code == 302
    db.session.expire_all()
    assert product.stock == 4
    row = db.session.scalar(select(StockMovement).where(StockMovement.reason == "staff_edit"))
    assert (row.product_id, row.delta, row.actor_id) == (product.id, -6, staff.id)


def test_stale_stock_is_refused_with_the_current_figure(staff_client, db):
    product = make_product(price_cents=5295, stock=10)
    db.session.commit()
    form = edit_data(product, stock="15", price="60.00")  # the page showed 10
    # a sale lands while the page is open
    product.stock = 7
    db.session.add(StockMovement(product_id=product.id, delta=-3, reason="order"))
    db.session.commit()

    resp = staff_client.post(f"/admin/products/{product.id}/edit", data=form)
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "changed from 10 to 7" in html
    assert "Stock is now 7 (it was 10 when you opened this page)." in html
    assert (
        input_value(html, "price") == "60.00" and input_value(html, "stock") == "15"
    )  # nothing typed is lost
    assert input_value(html, "expected_stock") == "7"
    db.session.expire_all()
    assert product.stock == 7 and product.price_cents == 5295  # nothing changed
    assert db.session.scalars(select(StockMovement).where(StockMovement.reason == "staff_edit")).all() == []

    # saving the re-shown form now applies the staff member's figure against the new one
    form.update(expected_stock="7")
    assert staff_client.post(f"/admin/products/{product.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    assert product.stock == 15 and product.price_cents == 6000
    row = db.session.scalar(select(StockMovement).where(StockMovement.reason == "staff_edit"))
    assert row.delta == 8


def test_stale_stock_untouched_field_follows_the_sale(staff_client, db):
    product = make_product(stock=10)
    db.session.commit()
    form = edit_data(product, price="1.00")  # stock left at the 10 shown
    product.stock = 9
    db.session.add(StockMovement(product_id=product.id, delta=-1, reason="order"))
    db.session.commit()
    html = staff_client.post(f"/admin/products/{product.id}/edit", data=form).get_data(as_text=True)
    # the re-shown form offers the current figure so that saving again cannot undo the sale
    assert input_value(html, "stock") == "9"


def test_edit_without_expected_stock_is_refused(staff_client, db):
    product = make_product(stock=10, price_cents=5295)
    db.session.commit()
    data = edit_data(product, stock="3", price="1.00")
    del data["expected_stock"]
    resp = staff_client.post(f"/admin/products/{product.id}/edit", data=data)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Stock is 10; check it and save again." in html
    assert input_value(html, "expected_stock") == "10" and input_value(html, "stock") == "3"
    db.session.expire_all()
    assert product.stock == 10 and product.price_cents == 5295


def test_edit_invalid_fields_are_inline_and_change_nothing(staff_client, db):
    product = make_product(price_cents=5295, name="Original")
    db.session.commit()
    resp = staff_client.post(
        f"/admin/products/{product.id}/edit",
        data=edit_data(product, name="", price="1.234", stock="-1", image_url="javascript:alert(1)"),
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert html.count("invalid-feedback") >= 4
    assert "Enter a price like 52.95" in html and "Must be 0 or more." in html
    assert "Enter an http(s) URL." in html
    db.session.expire_all()
    assert product.name == "Original" and product.price_cents == 5295


# --- archive ---------------------------------------------------------------------------------


def test_archive_needs_confirmation_then_post(staff_client, db):
    product = make_product(name="Old Phone")
    db.session.commit()
    page = staff_client.get(f"/admin/products/{product.id}/archive")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Archive product?" in html and "Old Phone" in html and 'method="post"' in html
    db.session.expire_all()
    assert product.status == "active"  # GET changes nothing

    resp = staff_client.post(f"/admin/products/{product.id}/archive", data={"confirm": "yes"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/products")
    db.session.expire_all()
    assert product.status == "archived"
    assert "archived; shoppers no longer see it" in staff_client.get("/admin/products").get_data(as_text=True)
    assert product not in db.session.scalars(Product.active()).all()
    assert "already archived" in staff_client.get(f"/admin/products/{product.id}/archive").get_data(
        as_text=True
    )


def test_forms_carry_csrf_tokens_and_posts_without_them_fail(app_factory, db):
    app = app_factory(WTF_CSRF_ENABLED=True)
    product = make_product(price_cents=5295)
    staff = make_user(role="staff")
    db.session.commit()
    client = app.test_client()
    login_as(client, staff)
    for path in (
        "/admin/products/new",
        f"/admin/products/{product.id}/edit",
        f"/admin/products/{product.id}/archive",
    ):
        assert 'name="csrf_token" type="hidden" value="' in client.get(path).get_data(as_text=True)
    resp = client.post(f"/admin/products/{product.id}/edit", data=edit_data(product, price="1.00"))
    assert resp.status_code in (400, 422)
    assert client.post(f"/admin/products/{product.id}/archive", data={"confirm": "yes"}).status_code == 400
    db.session.expire_all()
    assert product.price_cents == 5295 and product.status == "active"
    # with the token from the page the edit goes through
    html = client.get(f"/admin/products/{product.id}/edit").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    resp = client.post(
        f"/admin/products/{product.id}/edit", data=edit_data(product, price="1.00", csrf_token=token)
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert product.price_cents == 100
