"""Staff pricing pages over HTTP: shipping methods, tax rates and discount codes (list, new,
edit, delete behind a confirmation page), who may see them, and the product weight field."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from shop.catalog.models import Product
from shop.orders.models import Order
from shop.pricing import code_services, services
from shop.pricing.models import DiscountCode, DiscountRedemption, ShippingMethod, TaxRate
from tests.factories import ADDRESS, make_category, make_product, make_user, page_text, sign_in


@pytest.fixture
def staff_client(client, db):
    sign_in(client, make_user(email="staff@example.com", role="staff"))
    return client


PAGES = [
    "/admin/shipping-methods",
    "/admin/shipping-methods/new",
    "/admin/tax-rates",
    "/admin/tax-rates/new",
    "/admin/discount-codes",
    "/admin/discount-codes/new",
]


@pytest.mark.parametrize("path", PAGES)
def test_customers_are_refused_and_visitors_sent_to_login(client, db, path):
    assert "/auth/login" in client.get(path).headers["Location"]
    sign_in(client, make_user(role="customer"))
    assert client.get(path).status_code == 403


def test_customer_cannot_create_or_delete(client, db):
    method = services.create_shipping_method(
        {"name": "Std", "price_cents": 495, "min_days": 1, "max_days": 3}
    )
    db.session.commit()
    sign_in(client, make_user(role="customer"))
    assert (
        client.post("/admin/tax-rates/new", data={"country": "DE", "name": "VAT", "rate": "19"}).status_code
        == 403
    )
    assert (
        client.post(f"/admin/shipping-methods/{method.id}/delete", data={"confirm": "yes"}).status_code == 403
    )
    db.session.expire_all()
    assert db.session.get(ShippingMethod, method.id) is not None
    assert db.session.scalar(select(TaxRate.id)) is None


def test_navigation_links_to_the_three_lists(staff_client, db):
    html = staff_client.get("/admin/").get_data(as_text=True)
    for href in ("/admin/shipping-methods", "/admin/tax-rates", "/admin/discount-codes"):
        assert f'href="{href}"' in html


def test_missing_rows_are_404(staff_client, db):
    for path in (
        "/admin/shipping-methods/9/edit",
        "/admin/tax-rates/9/delete",
        "/admin/discount-codes/9/edit",
    ):
        assert staff_client.get(path).status_code == 404


# --- shipping methods ---------------------------------------------------------------------

SHIPPING = {
    "name": "Standard",
    "description": "2–4 days",
    "countries": "us, CA",
    "rate_kind": "subtotal",
    "price": "",
    "bands": "50.00: 4.95\nup to 150: 2.95\n",
    "free_above": "150.00",
    "min_days": "2",
    "max_days": "4",
    "position": "1",
    "is_active": "y",
}


def test_shipping_method_create_edit_and_list(staff_client, db):
    resp = staff_client.post("/admin/shipping-methods/new", data=SHIPPING)
    assert resp.status_code == 303
    method = db.session.scalar(select(ShippingMethod))
    assert (method.name, method.countries, method.rate_kind) == ("Standard", ["US", "CA"], "subtotal")
    assert method.bands == [[5000, 495], [15000, 295]]
    assert (method.free_above_cents, method.min_days, method.max_days, method.is_active) == (
        15000,
        2,
        4,
        True,
    )

    html = page_text(staff_client.get("/admin/shipping-methods"))
    assert "Standard" in html and "US, CA" in html and "up to $50.00: $4.95" in html and "$150.00" in html

    edit = page_text(staff_client.get(f"/admin/shipping-methods/{method.id}/edit"))
    assert "50.00: 4.95\n150.00: 2.95" in edit and 'value="US, CA"' in edit

    data = dict(SHIPPING, rate_kind="weight", bands="1000: 4.95\n5000g: 9.95", free_above="")
    data.pop("is_active")  # unticked
    assert staff_client.post(f"/admin/shipping-methods/{method.id}/edit", data=data).status_code == 303
    db.session.expire_all()
    assert (method.rate_kind, method.bands, method.free_above_cents) == (
        "weight",
        [[1000, 495], [5000, 995]],
        None,
    )
    assert method.is_active is False


def test_shipping_method_bad_submit_keeps_input_and_shows_errors_on_fields(staff_client, db):
    data = dict(SHIPPING, countries="US, XX", bands="50.00: 4.95\n30.00 4.95", min_days="5", max_days="2")
    resp = staff_client.post("/admin/shipping-methods/new", data=data)
    assert resp.status_code == 422
    html = page_text(resp)
    assert "Line 2: write 'up to: price'" in html
    assert 'value="US, XX"' in html and "30.00 4.95" in html and 'value="Standard"' in html
    assert db.session.scalar(select(ShippingMethod.id)) is None

    # The form's own checks pass; the service refuses the countries and the days.
    resp = staff_client.post("/admin/shipping-methods/new", data=dict(data, bands="50: 4.95"))
    assert resp.status_code == 422
    html = page_text(resp)
    assert "Not ISO 3166-1 alpha-2 country codes: XX" in html and "Must be at least the minimum days." in html
    assert html.count("is-invalid") >= 2 and 'value="US, XX"' in html

    resp = staff_client.post(
        "/admin/shipping-methods/new", data=dict(SHIPPING, rate_kind="flat", price="4.999")
    )
    assert resp.status_code == 422 and "at most 2 decimals" in page_text(resp)


def test_shipping_method_delete_asks_first(staff_client, db):
    method = services.create_shipping_method(
        {"name": "Courier", "price_cents": 995, "min_days": 1, "max_days": 2}
    )
    db.session.commit()
    page = page_text(staff_client.get(f"/admin/shipping-methods/{method.id}/delete"))
    assert "Delete shipping method?" in page and "Courier" in page and 'method="post"' in page
    db.session.expire_all()
    assert db.session.get(ShippingMethod, method.id) is not None  # GET changed nothing
    assert staff_client.post(f"/admin/shipping-methods/{method.id}/delete").status_code == 400  # unconfirmed
    db.session.expire_all()
    assert db.session.get(ShippingMethod, method.id) is not None
    resp = staff_client.post(
        f"/admin/shipping-methods/{method.id}/delete", data={"confirm": "yes"}, follow_redirects=True
    )
    assert "Shipping method Courier deleted." in page_text(resp)
    db.session.expire_all()
    assert db.session.get(ShippingMethod, method.id) is None


# --- tax rates ----------------------------------------------------------------------------


def test_tax_rate_create_edit_duplicate_and_delete(staff_client, db):
    resp = staff_client.post(
        "/admin/tax-rates/new",
        data={"country": "US", "region": " NY ", "name": "Sales tax", "rate": "8.88", "is_active": "y"},
    )
    assert resp.status_code == 303
    rate = db.session.scalar(select(TaxRate))
    assert (rate.country, rate.region, rate.name, rate.rate_bp) == ("US", "NY", "Sales tax", 888)
    html = page_text(staff_client.get("/admin/tax-rates"))
    assert "Sales tax" in html and "8.88%" in html and "NY" in html

    dup = staff_client.post(
        "/admin/tax-rates/new",
        data={"country": "US", "region": "NY", "name": "Other", "rate": "5", "is_active": "y"},
    )
    assert dup.status_code == 409
    html = page_text(dup)
    assert "There is already a tax rate for US, region NY" in html and 'value="Other"' in html

    edit = page_text(staff_client.get(f"/admin/tax-rates/{rate.id}/edit"))
    assert 'value="8.88"' in edit and 'value="NY"' in edit
    resp = staff_client.post(
        f"/admin/tax-rates/{rate.id}/edit",
        data={"country": "US", "region": "NY", "name": "Sales tax", "rate": "12.5"},
    )
    assert resp.status_code == 303
    db.session.expire_all()
    assert (rate.rate_bp, rate.is_active) == (1250, False)

    bad = staff_client.post(
        f"/admin/tax-rates/{rate.id}/edit",
        data={"country": "US", "region": "NY", "name": "Sales tax", "rate": "8.875"},
    )
    assert bad.status_code == 422 and "at most 2 decimals" in page_text(bad)

    assert "Delete tax rate?" in page_text(staff_client.get(f"/admin/tax-rates/{rate.id}/delete"))
    assert staff_client.post(f"/admin/tax-rates/{rate.id}/delete", data={"confirm": "yes"}).status_code == 303
    assert db.session.scalar(select(TaxRate.id)) is None


# --- discount codes -----------------------------------------------------------------------


def test_discount_code_create_edit_and_list(staff_client, db):
    cat = make_category("Laptops")
    db.session.commit()
    data = {
        "code": " summer-10 ",
        "description": "Summer sale",
        "kind": "percentage",
        "value": "12.5",
        "category_id": str(cat.id),
        "min_subtotal": "50.00",
        "starts_at": "2030-06-01T00:00",
        "ends_at": "2030-09-01T00:00",
        "max_uses": "100",
        "max_uses_per_customer": "1",
        "is_active": "y",
    }
    assert staff_client.post("/admin/discount-codes/new", data=data).status_code == 303
    code = db.session.scalar(select(DiscountCode))
    assert (code.code, code.kind, code.value, code.category_id) == ("SUMMER-10", "percentage", 1250, cat.id)
    assert code.min_subtotal_cents == 5000 and code.max_uses == 100 and code.max_uses_per_customer == 1
    assert code.starts_at == datetime(2030, 6, 1, tzinfo=timezone.utc)

    html = page_text(staff_client.get("/admin/discount-codes"))
    assert "SUMMER-10" in html and "12.5% off" in html and "0 of 100" in html
    assert "2030-06-01 00:00 – 2030-09-01 00:00" in html and "scheduled" in html

    edit = page_text(staff_client.get(f"/admin/discount-codes/{code.id}/edit"))
    assert 'value="12.5"' in edit and 'value="2030-06-01T00:00"' in edit and 'value="50.00"' in edit
    data.update(kind="fixed", value="5.00", category_id="", starts_at="", ends_at="", max_uses="")
    assert staff_client.post(f"/admin/discount-codes/{code.id}/edit", data=data).status_code == 303
    db.session.expire_all()
    assert (code.kind, code.value, code.category_id, code.starts_at, code.max_uses) == (
        "fixed",
        500,
        None,
        None,
        None,
    )
    html = page_text(staff_client.get("/admin/discount-codes"))
    assert "$5.00 off" in html and "0 of ∞" in html and "Always" in html


def test_discount_code_errors_on_fields(staff_client, db):
    code_services.create_discount_code({"code": "TAKEN", "kind": "fixed", "value": 500})
    db.session.commit()
    base = {"code": "taken", "kind": "fixed", "value": "5", "category_id": ""}
    resp = staff_client.post("/admin/discount-codes/new", data=base)
    assert resp.status_code == 409 and "This code exists already." in page_text(resp)

    resp = staff_client.post(
        "/admin/discount-codes/new",
        data=dict(base, code="a b", starts_at="2030-02-01T00:00", ends_at="2030-01-01T00:00"),
    )
    html = page_text(resp)
    assert (
        resp.status_code == 422
        and "starting with a letter or digit" in html
        and "Must be after the start." in html
    )
    assert 'value="a b"' in html and 'value="2030-02-01T00:00"' in html

    resp = staff_client.post(
        "/admin/discount-codes/new", data=dict(base, code="NEW1", kind="percentage", value="120")
    )
    assert resp.status_code == 422 and "percentage up to 100" in page_text(resp)


def test_code_list_paginates(staff_client, db):
    for n in range(55):
        code_services.create_discount_code({"code": f"CODE{n:03d}", "kind": "fixed", "value": 100})
    db.session.commit()
    page1 = page_text(staff_client.get("/admin/discount-codes"))
    assert "Showing 1–50 of 55 codes" in page1 and "CODE049" in page1 and "CODE050" not in page1
    page2 = page_text(staff_client.get("/admin/discount-codes?page=2"))
    assert "CODE050" in page2 and "CODE049" not in page2
    found = page_text(staff_client.get("/admin/discount-codes?q=code05"))
    assert "Showing 1–5 of 5 codes" in found


def test_unused_code_deleted_after_confirmation(staff_client, db):
    code = code_services.create_discount_code({"code": "ONCE", "kind": "fixed", "value": 100})
    db.session.commit()
    page = page_text(staff_client.get(f"/admin/discount-codes/{code.id}/delete"))
    assert "Delete discount code?" in page and "No order has used it." in page
    assert (
        staff_client.post(f"/admin/discount-codes/{code.id}/delete", data={"confirm": "yes"}).status_code
        == 303
    )
    assert db.session.scalar(select(DiscountCode.id)) is None


def test_used_code_delete_refused_with_deactivate_advice(staff_client, db):
    code = code_services.create_discount_code({"code": "USED", "kind": "fixed", "value": 100, "max_uses": 5})
    user = make_user()
    for n in range(2):
        order = Order(
            number=f"ORD-USED-{n}",
            user_id=user.id,
            email=user.email,
            currency="USD",
            subtotal_cents=1000,
            discount_cents=100,
            discount_code="USED",
            total_cents=900,
            shipping_address=ADDRESS,
        )
        db.session.add(order)
        db.session.flush()
        db.session.add(
            DiscountRedemption(code_id=code.id, order_id=order.id, email=user.email, amount_cents=100)
        )
    code.times_used = 2
    db.session.commit()

    page = page_text(staff_client.get(f"/admin/discount-codes/{code.id}/delete"))
    assert "cannot be deleted" in page and "Deactivate it instead" in page
    assert 'value="Delete discount code"' not in page
    resp = staff_client.post(f"/admin/discount-codes/{code.id}/delete", data={"confirm": "yes"})
    assert resp.status_code == 409 and "Deactivate it instead" in page_text(resp)
    db.session.expire_all()
    assert db.session.get(DiscountCode, code.id) is not None
    assert "2 of 5" in page_text(staff_client.get("/admin/discount-codes"))

    # Lowering the maximum below the uses is refused on the field.
    form = {
        "code": "USED",
        "kind": "fixed",
        "value": "1.00",
        "category_id": "",
        "max_uses": "1",
        "is_active": "y",
    }
    resp = staff_client.post(f"/admin/discount-codes/{code.id}/edit", data=form)
    assert resp.status_code == 422 and "used 2 times already" in page_text(resp)
    # Deactivating it (the advice) works and keeps its uses.
    form.update(max_uses="5", is_active="")
    assert staff_client.post(f"/admin/discount-codes/{code.id}/edit", data=form).status_code == 303
    db.session.expire_all()
    assert (code.is_active, code.times_used, code.max_uses) == (False, 2, 5)


# --- product weight -----------------------------------------------------------------------


def test_product_form_saves_the_shipping_weight(staff_client, db):
    product = make_product(price_cents=1000, stock=3)
    db.session.commit()
    page = page_text(staff_client.get(f"/admin/products/{product.id}/edit"))
    assert "Shipping weight (g)" in page
    data = {
        "sku": product.sku,
        "name": product.name,
        "category_id": "",
        "price": "10.00",
        "stock": "3",
        "expected_stock": "3",
        "status": "active",
        "weight_grams": "1250",
    }
    assert staff_client.post(f"/admin/products/{product.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Product, product.id).weight_grams == 1250
    assert 'value="1250"' in page_text(staff_client.get(f"/admin/products/{product.id}/edit"))

    resp = staff_client.post(f"/admin/products/{product.id}/edit", data=dict(data, weight_grams="-5"))
    assert resp.status_code == 422 and "Must be 0 or more." in page_text(resp)
    assert (
        staff_client.post(f"/admin/products/{product.id}/edit", data=dict(data, weight_grams="")).status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.scalar(select(Product.weight_grams).where(Product.id == product.id)) is None
