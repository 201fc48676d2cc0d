"""In a real browser (Debian's Chromium driven by Playwright): staff create a shipping
method, a tax rate and a discount code through the admin forms; a guest shopper enters the
code on the cart, picks a method at checkout, sees the tax, places the order, and the
confirmation page and the confirmation mail show the same breakdown.

The shop runs in this process on a threaded server over the suite's database, so the test
reads what was stored and what was mailed. Figures (worked out by hand): a $120.00 product,
two of them = $240.00; code TENOFF takes 10 % = $24.00; Express $14.95 (Standard is free
above $200.00, so it shows as Free); Virginia tax 6 % of $216.00 = $12.96 and of $14.95 =
$0.897 -> $0.90, so tax $13.86; total 240.00 - 24.00 + 14.95 + 13.86 = $244.81.
"""

from __future__ import annotations

from sqlalchemy import select

from shop import mail
from shop.orders.models import Order
from shop.pricing.models import DiscountCode, ShippingMethod, TaxRate
from tests.browsers import MARKS, browser, fill_address, log_in, submit  # noqa: F401  (a fixture)
from tests.factories import make_product, make_user

pytestmark = MARKS


def _staff_create_pricing(page, base: str) -> None:
    """Create through the admin forms: Standard (free above $200), Express, VA tax, TENOFF."""
    page.goto(f"{base}/admin/shipping-methods/new")
    page.fill("input[name=name]", "Standard")
    page.fill("input[name=countries]", "US")
    page.fill("input[name=price]", "5.95")
    page.fill("input[name=free_above]", "200.00")
    submit(page, page.locator("input[type=submit], button[type=submit]").last)
    page.goto(f"{base}/admin/shipping-methods/new")
    page.fill("input[name=name]", "Express")
    page.fill("input[name=countries]", "us")
    page.fill("input[name=price]", "14.95")
    page.fill("input[name=min_days]", "1")
    page.fill("input[name=max_days]", "1")
    submit(page, page.locator("input[type=submit], button[type=submit]").last)
    page.goto(f"{base}/admin/tax-rates/new")
    page.select_option("select[name=country]", "US")
    page.fill("input[name=region]", "VA")
    page.fill("input[name=name]", "Sales tax")
    page.fill("input[name=rate]", "6")
    submit(page, page.locator("input[type=submit], button[type=submit]").last)
    page.goto(f"{base}/admin/discount-codes/new")
    page.fill("input[name=code]", "tenoff")
    page.select_option("select[name=kind]", "percentage")
    page.fill("input[name=value]", "10")
    submit(page, page.locator("input[type=submit], button[type=submit]").last)


def _rows(page, selector: str) -> list[str]:
    """The breakdown rows of a table as 'label amount' texts."""
    return [" ".join(r.inner_text().split()) for r in page.locator(f"{selector} tr").all()]


def test_staff_set_up_pricing_and_a_guest_checks_out_with_it(app, db, live_url, browser, tmp_path):
    staff = make_user(email="owner@example.com", role="admin")
    product = make_product(price_cents=12_000, stock=5)
    db.session.commit()
    mail.clear_outbox()

    staff_page = browser.new_page()
    log_in(staff_page, live_url, staff.email)
    _staff_create_pricing(staff_page, live_url)
    db.session.expire_all()
    assert sorted(m.name for m in db.session.scalars(select(ShippingMethod))) == ["Express", "Standard"]
    rate = db.session.scalar(select(TaxRate))
    assert (rate.country, rate.region, rate.rate_bp) == ("US", "VA", 600)
    code = db.session.scalar(select(DiscountCode))
    assert (code.code, code.kind, code.value) == ("TENOFF", "percentage", 1000)

    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{live_url}/p/{product.slug}")
    page.fill("form[action='/cart/add'] input[name=quantity]", "2")
    submit(page, page.locator("form[action='/cart/add'] button[type=submit]").first)
    page.goto(f"{live_url}/cart?country=US")
    page.fill("input[name=discount_code]", "tenoff")
    submit(page, page.locator("form[action='/cart/discount-code'] button"))
    assert "Code TENOFF applied: $24.00 off." in page.inner_text("main")
    cart_rows = _rows(page, ".cart-summary")
    assert "Discount (TENOFF) -$24.00" in cart_rows and "Shipping (Standard) Free" in cart_rows

    page.goto(f"{live_url}/checkout")
    page.fill("input[name=email]", "guest@example.com")
    fill_address(page)
    submit(page, page.locator("button[value=update]"))
    page.get_by_label("Express", exact=False).check()
    submit(page, page.locator("button[value=update]"))
    summary = _rows(page, ".checkout-summary")
    assert summary == [
        "Subtotal $240.00",
        "Discount (TENOFF) -$24.00",
        "Shipping (Express) $14.95",
        "Sales tax 6% $13.86",
        "Total $244.81",
    ], summary
    submit(page, page.locator("button[value=place]"))
    page.wait_for_url("**/thanks")
    page.screenshot(path=str(tmp_path / "confirmation.png"), full_page=True)
    confirmation = _rows(page, "tfoot")
    assert confirmation == summary, confirmation

    db.session.expire_all()
    order = db.session.scalar(select(Order))
    assert (order.total_cents, order.tax_cents, order.discount_code) == (24_481, 1386, "TENOFF")
    sent = [m for m in mail.outbox() if "guest@example.com" in m["To"]]
    assert len(sent) == 1
    body = sent[0].get_body(("plain",)).get_content()
    for line in ("Subtotal", "$240.00", "Discount (TENOFF)", "-$24.00", "Express", "$14.95", "Sales tax 6%"):
        assert line in body, (line, body)
    assert "$13.86" in body and "$244.81" in body
