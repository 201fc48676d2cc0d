"""In a real browser (Debian's Chromium driven by Playwright), at desktop and phone width: the
staff dashboard's chart renders (one bar per day, as tall as the day's revenue, styled by the
site's CSS, the orders line drawn), the page does not scroll sideways, and the per-day table
next to it holds the same figures.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from shop.admin import sales
from shop.extensions import db as _db
from tests.browsers import MARKS, browser, log_in  # noqa: F401  (a fixture)
from tests.factories import make_product, make_user
from tests.refund_factories import make_paid_order

pytestmark = MARKS


def seed_month(app) -> dict[str, int]:
    """Paid orders on some of the last 30 days (UTC): ``{iso day: revenue cents}``."""
    product = make_product(price_cents=1_000, stock=500)
    today = sales.today(timezone.utc)
    revenue = {}
    for back, quantity in ((1, 1), (2, 3), (5, 2), (9, 5), (17, 1), (28, 4)):
        day = today - timedelta(days=back)
        order = make_paid_order([(product, 1_000, quantity, 0, 0)])
        order.created_at = datetime.combine(day, time(12), timezone.utc)
        revenue[day.isoformat()] = 1_000 * quantity
    _db.session.commit()
    return revenue


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)])
def test_the_dashboard_chart_renders_with_its_table(app, db, live_url, browser, tmp_path, width, height):
    app.config["SHOP_TIMEZONE"] = "UTC"
    staff = make_user(email="owner@example.com", role="staff")
    revenue = seed_month(app)
    page = browser.new_page(viewport={"width": width, "height": height})
    log_in(page, live_url, staff.email)
    page.goto(f"{live_url}/admin/?period=30")
    page.screenshot(path=str(tmp_path / f"dashboard-{width}.png"), full_page=True)

    chart = page.locator("svg.sales-chart")
    box = chart.bounding_box()
    assert box and box["width"] > 0.8 * min(width, 700) and box["height"] > 80, box
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    bars = chart.locator(".chart-bars rect")
    assert bars.count() == 30
    heights = {}
    for i in range(30):
        bar = bars.nth(i)
        day = bar.locator("title").text_content().split(":")[0]
        heights[day] = bar.bounding_box()["height"]
    assert {d for d, h in heights.items() if h > 0.5} == set(revenue)
    # Drawn to scale: the tallest day is five times the one-unit day.
    tallest, smallest = max(revenue, key=revenue.get), min(revenue, key=revenue.get)
    assert heights[tallest] / heights[smallest] == pytest.approx(5, rel=0.05)
    fill = bars.nth(0).evaluate("e => getComputedStyle(e).fill")
    assert fill not in ("", "none", "rgb(0, 0, 0)"), fill  # the site's CSS styles the chart
    assert chart.locator("polyline.chart-line").get_attribute("points").count(",") == 30

    table = {
        row.get_attribute("data-day"): row.locator("td").first.inner_text()
        for row in page.locator("#per-day-table tbody tr").all()
    }
    assert len(table) == 30
    assert {d: t for d, t in table.items() if t != "$0.00"} == {
        d: f"${cents / 100:,.2f}" for d, cents in revenue.items()
    }
    assert page.locator("[data-figure=revenue]").inner_text() == f"${sum(revenue.values()) / 100:,.2f}"
