"""The storefront in a real browser (Debian's Chromium driven by Playwright), at desktop
(1280 px) and phone (390 px) width: a guest, a shopper and an admin walk their journeys,
each page is checked for what a person sees, axe-core (from npm, tests/browser/
node_modules, injected from the local file) runs on every page and any serious or critical
violation fails the test, no Content-Security-Policy violation may be reported, and a
screenshot of each page is saved into ``SCREENSHOT_DIR`` (CI keeps them as artifacts).

Under CI=true a missing Chromium or axe-core fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from shop import mail
from shop.auth.models import User
from shop.orders.models import Order
from tests.browsers import CHROMIUM, fill_address
from tests.factories import PASSWORD, make_category, make_product, make_user

AXE = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
IN_CI = os.environ.get("CI", "").lower() == "true"
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}

pytestmark = [pytest.mark.browser]


def _require_tools() -> None:
    """Skip without Chromium or axe-core, except in CI, where their absence is a failure."""
    missing = [str(p) for p in (Path(CHROMIUM), AXE) if not p.exists()]
    if missing:
        message = f"missing {', '.join(missing)} (apt-get install chromium; npm ci in tests/browser)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def chromium():
    """A headless Chromium for the module."""
    _require_tools()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: ``SCREENSHOT_DIR`` (created), else the test's temporary folder."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Visit:
    """One browser page at one width: every page it lands on is checked with axe-core,
    screenshotted, and watched for CSP violations."""

    def __init__(self, browser, base: str, width: str, shots: Path):
        w, h = WIDTHS[width]
        self.context = browser.new_context(viewport={"width": w, "height": h})
        self.page = self.context.new_page()
        self.base, self.width, self.shots = base, width, shots
        self.csp_errors: list[str] = []
        self.page.on(
            "console",
            lambda msg: self.csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
        )

    def go(self, path: str) -> None:
        """Open ``path`` on the shop."""
        self.page.goto(self.base + path)

    def check(self, name: str) -> None:
        """axe-core on the page as it is now (serious and critical violations fail), no CSP
        violation so far, no sideways scrolling, and a full-page screenshot ``<width>-<name>.png``."""
        page = self.page
        page.wait_for_load_state("load")
        page.screenshot(path=str(self.shots / f"{self.width}-{name}.png"), full_page=True)
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(AXE.read_text(encoding="utf-8"))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert bad == [], f"{name} at {self.width}: {bad}"
        assert self.csp_errors == [], self.csp_errors
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} at {self.width} scrolls sideways by {overflow} px"

    def close(self) -> None:
        """Close the browser context."""
        self.context.close()


@pytest.fixture
def visit(chromium, live_url, shots):
    """``visit(width)`` -> a :class:`Visit` on the live shop."""
    opened: list[Visit] = []

    def open_(width: str) -> Visit:
        v = Visit(chromium, live_url, width, shots)
        opened.append(v)
        return v

    yield open_
    for v in opened:
        v.close()


@pytest.fixture
def catalog(db):
    """Networking > Network cables with a patch cable whose specs have units, a laptop, and
    a few more products so the home page has something to feature."""
    networking = make_category("Networking", slug="networking")
    cables = make_category("Network cables", parent=networking, slug="network-cables")
    computers = make_category("Computers", slug="computers")
    laptops = make_category("Laptops", parent=computers, slug="laptops")
    cable = make_product(
        "StarTech.com Cat6 patch cable 0.3 m grey with snagless RJ45 connectors and molded strain relief",
        brand="StarTech.com",
        slug="cat6-patch-cable",
        price_cents=595,
        stock=50,
        category=cables,
        model="Cat6 patch cable",
        attributes={"Cable length": "0.3", "Frequency": "550", "Product colour": "Grey"},
    )
    laptop = make_product(
        "Lenovo ThinkPad T480 laptop 14 inch",
        brand="Lenovo",
        slug="thinkpad-t480",
        price_cents=89_900,
        stock=5,
        category=laptops,
        model="20L5",
    )
    for n in range(4):
        make_product(f"Acme network switch {n} port", price_cents=2_995 + n, category=cables, stock=9)
    db.session.commit()
    return {"cable": cable, "laptop": laptop}


def _add_to_cart(v: Visit, slug: str, quantity: int = 1) -> None:
    v.go(f"/p/{slug}")
    v.page.fill("form[action='/cart/add'] input[name=quantity]", str(quantity))
    with v.page.expect_navigation():
        v.page.locator("form[action='/cart/add'] button[type=submit]").click()


def _open_menu(page) -> None:
    """Open the phone menu and wait until it has finished sliding open."""
    page.locator("button.navbar-toggler").click()
    page.wait_for_selector("#nav.collapse.show", state="visible")


def _log_in(v: Visit, email: str, password: str = PASSWORD, check: str = "") -> None:
    v.go("/auth/login")
    if check:
        v.check(check)
    v.page.fill("input[name=email]", email)
    v.page.fill("input[name=password]", password)
    with v.page.expect_navigation():
        v.page.locator("main form button[type=submit]").click()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_guest_browses_searches_and_orders(db, catalog, visit, width):
    mail.clear_outbox()
    v = visit(width)
    page = v.page

    v.go("/")
    # Search and the cart are on screen without opening the menu, at both widths.
    assert page.locator("form.header-search input[name=q]").is_visible()
    assert page.locator("a.cart-link").is_visible()
    assert page.get_by_role("link", name="Find your order").first.is_visible() or width == "phone"
    order_of = page.evaluate(
        "() => ['featured-title', 'categories-title'].map(id => document.getElementById(id).getBoundingClientRect().top)"
    )
    assert order_of[0] < order_of[1], "featured products come before the category index"
    cards = page.locator(".featured-products .product-card")
    assert cards.count() >= 4
    # Equal heights in a row, prices lined up: the title is clamped to two lines.
    heights = {round(cards.nth(i).bounding_box()["height"]) for i in range(2)}
    assert len(heights) == 1, heights
    cable_title = page.locator(".featured-products a.product-name[href='/p/cat6-patch-cable']").inner_text()
    assert not cable_title.startswith("StarTech.com") and len(cable_title) <= 64
    v.check("home")

    # Suggestions: a valid listbox of options, checked by axe while open.
    page.fill("form.header-search input[name=q]", "cat6")
    page.wait_for_selector(".suggest-menu.show [role=option]")
    assert page.locator(".suggest-menu[role=listbox] [role=group] [role=option]").count() >= 1
    v.check("suggestions")
    # The keyboard still works on the listbox: down to the first option, Enter opens it.
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("form.header-search input[name=q]", "aria-activedescendant")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/p/cat6-patch-cable")
    page.fill("form.header-search input[name=q]", "cat6")
    page.locator("form.header-search button[type=submit]").click()
    page.wait_for_url("**/search?q=cat6*")
    assert "Cat6 patch cable" in page.inner_text("main")
    v.check("search")

    v.go("/c/network-cables")
    assert page.locator(".product-card").count() == 5
    v.check("listing")

    v.go("/p/cat6-patch-cable")
    crumbs = page.locator("nav[aria-label=breadcrumb] a")
    assert [crumbs.nth(i).inner_text() for i in range(crumbs.count())] == [
        "Home",
        "Networking",
        "Network cables",
    ]
    specs = page.inner_text(".spec-table")
    assert "0.3 m" in specs and "550 MHz" in specs
    assert "Model" not in page.inner_text(".product-detail")  # the title already has it
    assert page.get_attribute("form[action='/cart/add'] input[name=quantity]", "max") == "50"
    v.check("product")
    _add_to_cart(v, "cat6-patch-cable", 2)
    assert page.locator("a.cart-link .cart-count").inner_text().startswith("2")

    v.go("/cart")
    assert page.get_attribute("input.qty-input", "max") == "99"  # the one limit, as the server's
    assert page.locator(".cart-lines img.line-thumb").count() == 1
    v.check("cart")

    v.go("/checkout")
    page.fill("input[name=email]", f"guest-{width}@example.com")
    fill_address(page)
    summary_top = page.locator(".checkout-order").bounding_box()["y"]
    place_top = page.locator("button[value=place]").bounding_box()["y"]
    if width == "phone":
        assert summary_top < place_top, "the order summary comes before Place order on a phone"
    assert page.locator(".checkout-order img.line-thumb").count() == 1
    v.check("checkout")
    if page.locator("#pay-manual").count():
        page.check("#pay-manual")
    page.locator("button[value=place]").click()
    page.wait_for_url("**/thanks")
    placed_number = db.session.scalar(select(Order.number).where(Order.email == f"guest-{width}@example.com"))
    assert "Thank you for your order!" in page.inner_text("main") and placed_number in page.inner_text("main")
    assert page.locator("table.order-lines img.line-thumb").count() == 1
    v.check("order")

    order = db.session.scalar(select(Order).where(Order.email == f"guest-{width}@example.com"))
    assert order is not None and order.status == "pending_payment"
    placed = [m for m in mail.outbox() if m["To"] == f"guest-{width}@example.com"]
    assert (
        placed and "waiting for payment" in placed[0]["Subject"] and "confirmed" not in placed[0]["Subject"]
    )

    # A guest finds the order later from any page.
    v.go("/products")
    if width == "phone":
        _open_menu(page)
    page.locator("header").get_by_role("link", name="Find your order").click()
    page.wait_for_url("**/orders/lookup*")
    v.check("find-order")


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_a_shopper_registers_merges_a_cart_orders_and_changes_the_password(db, catalog, visit, width):
    v = visit(width)
    page = v.page
    email = f"ada-{width}@example.com"

    v.go("/auth/register")
    v.check("register")
    page.fill("input[name=email]", "not-an-address")
    page.fill("input[name=password]", "password")
    page.fill("input[name=confirm]", "something else")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    errors = page.locator(".invalid-feedback").all_inner_texts()
    # Every problem at once: the address, the common password and the repeat.
    assert any("@" in e or "e-mail" in e.lower() or "email" in e.lower() for e in errors), errors
    assert any("too common" in e for e in errors), errors
    assert "The passwords differ." in errors, errors
    v.check("register-errors")

    # A guest cart, then a new account, log out, log in again: the cart merges with a plural done right.
    _add_to_cart(v, "thinkpad-t480")
    v.go("/auth/register")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "analytical-engine-1843")
    page.fill("input[name=confirm]", "analytical-engine-1843")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/$"))
    if width == "phone":
        _open_menu(page)
    with page.expect_navigation():
        page.locator("header").get_by_role("button", name="Log out").click()
    _add_to_cart(v, "cat6-patch-cable")
    _log_in(v, email, "analytical-engine-1843", check="login")
    assert "1 product from before you logged in was added to your cart." in page.inner_text("main")
    v.check("home-after-login")
    v.go("/cart")
    assert page.locator(".cart-lines img.line-thumb").count() == 2
    v.check("cart-merged")

    v.go("/checkout")
    fill_address(page)
    if page.locator("#pay-manual").count():
        page.check("#pay-manual")
    page.locator("button[value=place]").click()
    page.wait_for_url("**/thanks")
    number = db.session.scalar(
        select(Order.number).join(User, User.id == Order.user_id).where(User.email == email)
    )
    assert number in page.inner_text("main")
    v.check("thanks")

    v.go("/orders")
    assert number in page.inner_text("main")
    v.check("orders")
    v.go(f"/orders/{number}")
    assert page.locator("table.order-lines img.line-thumb").count() == 2
    v.check("order-detail")

    # The account: a token whose Revoke stays on screen, and a password change without e-mail.
    v.go("/account")
    page.fill("input[name=name]", "a script with a long descriptive name")
    with page.expect_navigation():
        page.locator("form[action='/account/tokens'] button[type=submit]").click()
    revoke = page.locator(".token-table a", has_text="Revoke").first.bounding_box()
    shown = page.locator(".token-table").locator("xpath=..").bounding_box()  # the scroll box
    assert revoke["x"] + revoke["width"] <= min(WIDTHS[width][0], shown["x"] + shown["width"]), (
        revoke,
        shown,
    )
    v.check("account")
    page.get_by_role("link", name="Change password").click()
    page.wait_for_url("**/account/password")
    page.fill("input[name=current_password]", "analytical-engine-1843")
    page.fill("input[name=password]", "difference-engine-1822")
    page.fill("input[name=confirm]", "difference-engine-1822")
    v.check("change-password")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/account")
    assert "Your password is changed" in page.inner_text("main")
    v.check("password-changed")
    _log_in(v, email, "difference-engine-1822")  # signed in already: the login page goes home
    v.go("/account")
    assert email in page.inner_text("main")


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_an_admin_manages_products_and_orders(db, catalog, visit, width):
    admin = make_user(email=f"root-{width}@example.com", role="admin")
    db.session.commit()
    v = visit(width)
    page = v.page
    _log_in(v, admin.email, check="admin-login")

    v.go("/admin/products")
    labels = page.eval_on_selector_all("[role=search]", "els => els.map(e => e.getAttribute('aria-label'))")
    assert len(labels) == 2 and all(labels) and len(set(labels)) == 2, labels
    assert "Cat6 patch cable" in page.inner_text("main")
    v.check("admin-products")

    # The admin orders something and moves it on: the event names the actor's role.
    _add_to_cart(v, "cat6-patch-cable")
    v.go("/checkout")
    fill_address(page)
    if page.locator("#pay-manual").count():
        page.check("#pay-manual")
    page.locator("button[value=place]").click()
    page.wait_for_url("**/thanks")
    number = db.session.scalar(select(Order.number).where(Order.email == admin.email))
    v.go("/admin/orders")
    assert number in page.inner_text("main")
    v.check("admin-orders")
    v.go(f"/admin/orders/{number}")
    page.select_option("select[name=to_status]", "paid")
    page.get_by_role("button", name="Apply…").click()
    with page.expect_navigation():
        page.locator("#confirm-status button[type=submit]").click()
    roles = page.locator(".actor-role").all_inner_texts()
    assert roles and set(roles) == {"admin"}, roles
    v.check("admin-order")

    v.go("/")
    assert "Cat6 patch cable" in page.inner_text(".best-sellers")
    v.check("home-best-sellers")


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_back_office_pages(db, catalog, visit, width, tmp_path):
    """The owner's back office as staff see it: the sales dashboard with its chart, the
    product import (upload, a preview with a failing row), the audit log, pricing pages,
    jobs, an order and its packing slip; axe, CSP and sideways scrolling checked on each."""
    from datetime import datetime, time, timedelta, timezone

    from tests.refund_factories import make_paid_order
    from tests.sheethelpers import by_sku, csv_bytes, export_csv_rows

    owner = make_user(email=f"owner-{width}@example.com", role="admin")
    cable = catalog["cable"]
    today = datetime.now(timezone.utc).date()
    order = None
    for back, quantity in ((1, 2), (3, 1), (8, 4)):
        order = make_paid_order([(cable, 1_000, quantity, 0, 0)])
        order.created_at = datetime.combine(today - timedelta(days=back), time(12), timezone.utc)
    db.session.commit()
    rows = by_sku(export_csv_rows())
    first = next(iter(rows))
    rows[first]["price"] = "lots"
    sheet = tmp_path / "products.csv"
    sheet.write_bytes(csv_bytes(list(rows.values())))

    v = visit(width)
    page = v.page
    _log_in(v, owner.email)
    v.go("/admin/?period=30")
    assert page.locator("svg.sales-chart .chart-bars rect").count() == 30
    v.check("admin-dashboard")

    v.go("/admin/products/import")
    v.check("admin-import-upload")
    page.set_input_files("input[type=file]", str(sheet))
    with page.expect_navigation():
        page.locator("form[enctype='multipart/form-data'] [type=submit]").click()
    page.wait_for_selector("[data-count=failed]")
    assert page.inner_text("[data-count=failed]") == "1"
    v.check("admin-import-preview")

    for path, name in (
        ("/admin/audit", "admin-audit"),
        ("/admin/shipping-methods/new", "admin-shipping-method-form"),
        ("/admin/tax-rates", "admin-tax-rates"),
        ("/admin/discount-codes/new", "admin-discount-code-form"),
        ("/admin/jobs", "admin-jobs"),
        (f"/admin/orders/{order.number}", "admin-order-paid"),
        (f"/admin/orders/{order.number}/packing-slip", "admin-packing-slip"),
    ):
        v.go(path)
        assert page.locator("main, body").first.inner_text().strip()
        v.check(name)
