"""The packing slip and the order page in a real browser: the slip of a typical order prints
on one A4 page and on one Letter page without the shop's navigation, and the staff order
page (with the shipment fields) fits a 390 px phone screen."""

from __future__ import annotations

import re

from shop.orders import cart as carts
from shop.orders import services
from shop.orders.checkout import place_order
from tests.browsers import MARKS, browser, log_in  # noqa: F401  (a fixture)
from tests.factories import ADDRESS, make_product, make_user

pytestmark = MARKS

#: A typical order: eight lines, some with long product names.
PRODUCTS = [
    ("Logitech MX Keys Advanced Wireless Illuminated Keyboard, Graphite, UK layout", 2),
    ("Dell UltraSharp U2723QE 27-inch 4K USB-C Hub Monitor", 1),
    ("Samsung 980 PRO 2TB PCIe 4.0 NVMe M.2 Internal Solid State Drive", 3),
    ("Anker PowerExpand 11-in-1 USB-C Docking Station", 1),
    ("HP LaserJet Pro M404dn Monochrome Printer", 1),
    ("Kingston FURY Beast 32GB (2x16GB) DDR5 5200MHz Memory Kit", 2),
    ("APC Back-UPS Pro 1500VA Uninterruptible Power Supply", 1),
    ("Cable Matters 10 Gbps USB-C to USB-C Cable, 2 m", 4),
]


def _pages(pdf: bytes) -> int:
    """The number of pages of a PDF (its ``/Type /Page`` objects)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def _typical_paid_order(db):
    shopper = make_user(email="ada@example.com")
    cart = carts.get_user_cart(shopper.id, create=True)
    for name, quantity in PRODUCTS:
        carts.add_item(cart, make_product(name=name, price_cents=4999, stock=10).sku, quantity)
    order = place_order(
        cart=carts.get_user_cart(shopper.id),
        user_id=shopper.id,
        email=shopper.email,
        shipping_address=dict(ADDRESS, line2="Building 4, Floor 2"),
        payment_provider="manual",
    ).order
    services.transition_order(order.id, "paid", None)
    db.session.commit()
    return order


def test_the_packing_slip_prints_on_one_page_and_the_order_page_fits_a_phone(
    app, db, live_url, browser, tmp_path
):
    order = _typical_paid_order(db)
    make_user(email="staff@example.com", role="staff")
    db.session.commit()
    page = browser.new_page()
    log_in(page, live_url, "staff@example.com")

    page.goto(f"{live_url}/admin/orders/{order.number}/packing-slip")
    assert page.locator(".packing-slip .slip-lines tbody tr").count() == len(PRODUCTS)
    page.emulate_media(media="print")
    assert not page.locator("nav.navbar").is_visible() and not page.locator("footer").is_visible()
    assert not page.locator(".no-print").first.is_visible()
    assert page.locator(".packing-slip").is_visible()
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi, for a look
    page.screenshot(path=str(tmp_path / "packing-slip-print.png"), full_page=True)
    for paper in ("A4", "Letter"):
        pdf = page.pdf(format=paper, print_background=True)
        (tmp_path / f"packing-slip-{paper}.pdf").write_bytes(pdf)
        assert _pages(pdf) == 1, f"the slip takes {_pages(pdf)} {paper} pages"

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.context.add_cookies(page.context.cookies())
    phone.goto(f"{live_url}/admin/orders/{order.number}")
    assert phone.locator("input[name=carrier]").is_visible()
    assert phone.locator("input[name=tracking_number]").is_visible()
    phone.screenshot(path=str(tmp_path / "admin-order-390.png"), full_page=True)
    phone.locator("form[action$='/status']").screenshot(path=str(tmp_path / "status-form-390.png"))
    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
