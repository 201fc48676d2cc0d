"""The staff dashboard's sales figures, worked out by hand, on the suite's database.

Orders are written directly with chosen figures and times (``make_paid_order``), so that
each expected amount below can be checked on paper.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from shop.admin import sales, sales_report
from shop.admin.sales import Period
from shop.extensions import db as _db
from shop.payments.models import Refund
from tests.factories import make_category, make_product, make_user, page_text, sign_in
from tests.refund_factories import make_paid_order

UTC = ZoneInfo("UTC")


def at(text: str, tz: ZoneInfo = UTC) -> datetime:
    """A local wall-clock time in ``tz`` (``"2026-02-08 10:00"``) as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def order(when: datetime, lines, status: str = "paid", shipping_cents: int = 0, **kwargs):
    """A paid (or ``status``) order placed at ``when`` with ``lines`` (see ``make_paid_order``)."""
    o = make_paid_order(lines, status=status, shipping_cents=shipping_cents, **kwargs)
    o.created_at = when
    _db.session.flush()
    return o


def refund(o, cents: int, status: str = "succeeded") -> None:
    _db.session.add(Refund(order_id=o.id, amount_cents=cents, currency="USD", status=status))
    _db.session.flush()


@pytest.fixture
def staff_client(client, db):
    sign_in(client, make_user(email="staff@example.com", role="staff"))
    return client


# --- figures ---------------------------------------------------------------------------------


@pytest.fixture
def two_weeks(db):
    """Orders of 2026-02-01..07 (the previous week) and 2026-02-08..14 (the week asked for)."""
    p1, p2 = make_product(price_cents=4000, stock=50), make_product(price_cents=2500, stock=50)
    # the week asked for
    order(at("2026-02-08 00:00"), [(p1, 4000, 2, 0, 0)], shipping_cents=1000)  # 9000
    order(at("2026-02-14 23:59:59"), [(p2, 2500, 1, 500, 0)], status="shipped")  # 2000
    c = order(at("2026-02-10 12:00"), [(p1, 4000, 1, 0, 0)], status="partially_refunded")  # 4000
    refund(c, 1500)
    refund(c, 1000, status="failed")  # never given back
    refund(c, 700, status="pending")  # not yet
    order(at("2026-02-09 09:00"), [(p1, 4000, 1, 0, 0)], status="pending_payment")
    order(at("2026-02-11 09:00"), [(p1, 4000, 1, 0, 0)], status="cancelled")
    order(at("2026-02-15 00:00"), [(p1, 4000, 5, 0, 0)])  # the week after
    # the week before
    order(at("2026-02-07 23:59:59"), [(p2, 3000, 3, 0, 0)], status="delivered")  # 9000
    order(at("2026-02-01 00:00"), [(p2, 1000, 1, 0, 0)])  # 1000
    order(at("2026-01-31 23:59:59"), [(p2, 1000, 9, 0, 0)])  # before both
    db.session.commit()
    return p1, p2


def test_revenue_orders_average_and_units_against_the_previous_period(two_weeks):
    week = Period(date(2026, 2, 8), date(2026, 2, 14), UTC)
    report = sales_report.sales_dashboard(week, now=at("2026-02-15 10:00"))

    assert report.previous == Period(date(2026, 2, 1), date(2026, 2, 7), UTC)
    # 9000 + 2000 + (4000 - 1500): pending, cancelled, failed and pending refunds left out
    assert report.current == sales.Totals(revenue_cents=13500, orders=3, average_order_cents=4500, units=4)
    assert report.before == sales.Totals(revenue_cents=10000, orders=2, average_order_cents=5000, units=4)
    assert report.changes == {
        "revenue_cents": pytest.approx(0.35),
        "orders": pytest.approx(0.5),
        "average_order_cents": pytest.approx(-0.1),
        "units": 0,
    }
    by_day = {d["day"].isoformat(): (d["revenue_cents"], d["orders"]) for d in report.days}
    assert len(by_day) == 7
    assert by_day["2026-02-08"] == (9000, 1)
    assert by_day["2026-02-10"] == (2500, 1)
    assert by_day["2026-02-14"] == (2000, 1)
    assert by_day["2026-02-09"] == by_day["2026-02-11"] == (0, 0)


def test_change_is_none_without_earlier_sales_and_average_rounds_half_up(db):
    p = make_product()
    for cents in (1000, 1001):  # 2001 / 2 = 1000.5 -> 1001
        order(at("2026-02-03 10:00"), [(p, cents, 1, 0, 0)])
    db.session.commit()
    report = sales_report.sales_dashboard(Period(date(2026, 2, 3), date(2026, 2, 3), UTC))
    assert report.current.average_order_cents == 1001
    assert report.before.orders == 0
    assert report.changes["revenue_cents"] is None
    assert sales.change(0, 0) is None and sales.change(50, 100) == -0.5


# --- local days ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "first"),
    [
        ("Asia/Tokyo", date(2026, 3, 7)),  # UTC+9 all year
        ("America/New_York", date(2026, 3, 7)),  # clocks go forward on 2026-03-08 (a 23 h day)
        ("Europe/Berlin", date(2026, 10, 24)),  # clocks go back on 2026-10-25 (a 25 h day)
        ("Australia/Lord_Howe", date(2026, 4, 4)),  # back half an hour on 2026-04-05
    ],
)
def test_orders_go_to_their_local_day_across_dst_changes(db, zone, first):
    tz = ZoneInfo(zone)
    p = make_product()
    d0, d1, d2 = first, first + timedelta(days=1), first + timedelta(days=2)
    placed = {
        f"{d0} 00:00": d0,
        f"{d0} 23:30": d0,  # late evening: the local day, not the UTC one
        f"{d1} 00:30": d1,
        f"{d1} 12:00": d1,
        f"{d1} 23:30": d1,
        f"{d1} 23:59:59": d1,
        f"{d2} 00:00": d2,
        f"{d2} 23:30": d2,
    }
    for i, text in enumerate(placed):
        order(at(text, tz), [(p, 100 * (i + 1), 1, 0, 0)])
    order(at(f"{d0} 00:00", tz) - timedelta(seconds=1), [(p, 99999, 1, 0, 0)])  # the day before
    order(at(f"{d2} 00:00", tz) + timedelta(days=1), [(p, 99999, 1, 0, 0)])  # the day after
    db.session.commit()

    days = sales.daily_sales(Period(d0, d2, tz))

    expected = {d: [0, 0] for d in (d0, d1, d2)}
    for i, day in enumerate(placed.values()):
        expected[day][0] += 100 * (i + 1)
        expected[day][1] += 1
    assert [(d["day"], d["revenue_cents"], d["orders"]) for d in days] == [
        (d, cents, n) for d, (cents, n) in expected.items()
    ]
    assert expected[d0] == [300, 2] and expected[d1] == [1800, 4] and expected[d2] == [1500, 2]


def test_a_one_day_period_on_a_dst_change(db):
    tz = ZoneInfo("America/New_York")
    p = make_product()
    order(at("2026-11-01 23:30", tz), [(p, 700, 1, 0, 0)])
    order(at("2026-11-01 01:30", tz), [(p, 300, 1, 0, 0)])
    order(at("2026-11-02 00:00", tz), [(p, 5000, 1, 0, 0)])
    db.session.commit()
    days = sales.daily_sales(Period(date(2026, 11, 1), date(2026, 11, 1), tz))
    assert days == [{"day": date(2026, 11, 1), "orders": 2, "revenue_cents": 1000}]


# --- top lists, run-out, waiting ---------------------------------------------------------------


def test_top_products_and_categories_by_line_amount(db):
    computers = make_category("Computers")
    laptops = make_category("Laptops", parent=computers)
    audio = make_category("Audio")
    laptop = make_product(name="Laptop", sku="LAP", category=laptops)
    phones = make_product(name="Headphones", sku="HPH", category=audio)
    cable = make_product(name="Cable", sku="CAB")
    order(at("2026-02-02 10:00"), [(laptop, 50000, 1, 5000, 0), (cable, 500, 4, 0, 0)], shipping_cents=900)
    order(at("2026-02-03 10:00"), [(phones, 8000, 3, 0, 0), (cable, 500, 2, 100, 0)])
    order(at("2026-02-03 11:00"), [(phones, 8000, 9, 0, 0)], status="cancelled")
    db.session.commit()
    period = Period(date(2026, 2, 1), date(2026, 2, 7), UTC)

    assert [(r["sku"], r["units"], r["revenue_cents"]) for r in sales.top_products(period)] == [
        ("LAP", 1, 45000),
        ("HPH", 3, 24000),
        ("CAB", 6, 2900),
    ]
    assert [(r["name"], r["units"], r["revenue_cents"]) for r in sales.top_categories(period)] == [
        ("Computers > Laptops", 1, 45000),
        ("Audio", 3, 24000),
        ("Uncategorized", 6, 2900),
    ]
    assert sales.top_products(period, limit=1)[0]["sku"] == "LAP"


def test_running_out_at_the_periods_rate(db):
    # A 10-day period: 10 units sold is 1 a day.
    period = Period(date(2026, 2, 1), date(2026, 2, 10), UTC)
    stocks = {"GONE": 0, "SOON": 5, "LAST": 13, "EDGE": 14, "PLENTY": 100}
    products = {sku: make_product(sku=sku, stock=stock) for sku, stock in stocks.items()}
    draft = make_product(sku="DRAFT", stock=1, status="draft")
    for sku, p in products.items():
        order(at("2026-02-05 10:00"), [(p, 100, 10 if sku != "GONE" else 2, 0, 0)])
    order(at("2026-02-05 10:00"), [(draft, 100, 10, 0, 0)])
    order(at("2026-01-31 10:00"), [(products["PLENTY"], 100, 90, 0, 0)])  # before the period
    db.session.commit()

    rows = sales.running_out(period)

    assert [(r["sku"], r["stock"], r["units"], r["days_left"]) for r in rows] == [
        ("GONE", 0, 2, 0),
        ("SOON", 5, 10, pytest.approx(5.0)),
        ("LAST", 13, 10, pytest.approx(13.0)),
    ]
    assert rows[1]["per_day"] == pytest.approx(1.0)


def test_orders_waiting_for_action(db):
    now = at("2026-02-10 12:00")
    p = make_product()
    to_ship_old = order(now - timedelta(days=3), [(p, 100, 1, 0, 0)])
    order(now - timedelta(hours=1), [(p, 100, 1, 0, 0)])
    order(now - timedelta(days=5), [(p, 100, 1, 0, 0)], status="shipped")
    flagged = order(now - timedelta(days=1), [(p, 100, 1, 0, 0)], status="cancelled")
    flagged.attention = "Card payment arrived after the order was cancelled."
    stale = order(now - timedelta(hours=49), [(p, 100, 1, 0, 0)], status="pending_payment")
    order(now - timedelta(hours=47), [(p, 100, 1, 0, 0)], status="pending_payment")
    db.session.commit()

    w = sales.waiting_orders(now)

    assert (w.to_ship, w.attention, w.stale_pending) == (2, 1, 1)
    assert w.oldest_to_ship[0].id == to_ship_old.id
    assert [o.id for o in w.needing_attention] == [flagged.id]
    assert [o.id for o in w.oldest_pending] == [stale.id]


# --- the page --------------------------------------------------------------------------------


def test_page_shows_the_figures_chart_and_table(staff_client, two_weeks):
    resp = staff_client.get("/admin/?period=custom&start=2026-02-08&end=2026-02-14")
    assert resp.status_code == 200
    html = page_text(resp)
    figure = {
        k: re.search(rf'data-figure="{k}">([^<]+)<', html).group(1)
        for k in ("revenue", "orders", "aov", "units")
    }
    assert figure == {"revenue": "$135.00", "orders": "3", "aov": "$45.00", "units": "4"}
    assert 'data-change="35.0"' in html and 'data-change="-10.0"' in html
    assert 'data-period="2026-02-08/2026-02-14"' in html
    # the chart: an image with a title, one bar per day; the table reads the same figures
    svg = re.search(r"<svg class=\"sales-chart\"[^>]*>", html).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="sales-chart-title sales-chart-desc"' in svg
    assert (
        '<title id="sales-chart-title">Revenue and orders per day, 2026-02-08 to 2026-02-14</title>' in html
    )
    assert html.count("<rect x=") == 7
    row = re.search(r'<tr data-day="2026-02-10">(.*?)</tr>', html).group(1)
    assert "$25.00" in row and ">1<" in row
    assert 'style="' not in html
    assert re.search(r'data-sku="[^"]+"><td><span class="font-monospace small">', html)


def test_default_period_is_the_last_30_days(staff_client, db, app):
    app.config["SHOP_TIMEZONE"] = "Pacific/Auckland"
    html = page_text(staff_client.get("/admin/"))
    today = datetime.now(timezone.utc).astimezone(ZoneInfo("Pacific/Auckland")).date()
    assert f'data-period="{today - timedelta(days=29)}/{today}"' in html
    assert "Days are in Pacific/Auckland" in html
    html = page_text(staff_client.get("/admin/?period=7"))
    assert f'data-period="{today - timedelta(days=6)}/{today}"' in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=custom&start=2026-02-10&end=2026-02-01", "The first day must not be after the last."),
        ("period=custom&start=2026-02-10", "Give the last day of the range."),
        ("period=custom&end=2026-02-10", "Give the first day of the range."),
        ("period=custom&start=2020-01-01&end=2026-02-10", "A range can be at most 366 days."),
        ("period=custom&start=2026-02-01&end=2999-01-01", "The range cannot end after today."),
        ("period=custom&start=yesterday&end=2026-02-01", "Not a valid date value."),
        ("period=13", "Not a valid choice."),
    ],
)
def test_invalid_periods_are_refused_with_the_reason(staff_client, db, query, message):
    resp = staff_client.get(f"/admin/?{query}")
    assert resp.status_code == 400
    html = page_text(resp)
    assert message in html
    today = datetime.now(timezone.utc).date()
    assert f'data-period="{today - timedelta(days=29)}/{today}"' in html  # the default shown


def test_a_single_day_custom_range_is_valid(staff_client, two_weeks):
    resp = staff_client.get("/admin/?period=custom&start=2026-02-08&end=2026-02-08")
    assert resp.status_code == 200
    assert re.search(r'data-figure="revenue">\$90\.00<', resp.get_data(as_text=True))


def test_dashboard_is_for_staff_only(client, db):
    assert client.get("/admin/").status_code == 302
    sign_in(client, make_user(role="customer"))
    assert client.get("/admin/?period=7").status_code == 403


def test_page_lists_waiting_orders_in_the_shops_time(staff_client, app, db):
    app.config["SHOP_TIMEZONE"] = "Asia/Tokyo"
    p = make_product()
    paid = order(at("2026-02-10 15:30"), [(p, 1250, 1, 0, 0)])
    flagged = order(at("2026-02-11 08:00"), [(p, 990, 1, 0, 0)], status="cancelled")
    flagged.attention = "Card payment arrived after the order was cancelled."
    db.session.commit()
    html = page_text(staff_client.get("/admin/?period=7"))
    assert re.search(r'data-waiting="to_ship">1<', html)
    assert re.search(r'data-waiting="attention">1<', html)
    assert re.search(r'data-waiting="stale_pending">0<', html)
    assert f'href="/admin/orders/{paid.number}"' in html
    assert "2026-02-11 00:30 · $12.50" in html  # 15:30 UTC is past midnight in Tokyo
    assert "Card payment arrived after the order was cancelled." in html


@pytest.mark.parametrize("zone", ["America/Santiago", "America/Havana", "Europe/London", "Asia/Kolkata"])
def test_sql_days_agree_with_zoneinfo_over_a_year(db, zone):
    # Santiago and Havana change their clocks at midnight (a local day may start at 01:00).
    import random

    tz = ZoneInfo(zone)
    rng = random.Random(zone)
    p = make_product()
    period = Period(date(2025, 6, 1), date(2026, 5, 31), tz)
    lo, hi = period.utc_bounds()
    expected: dict[date, int] = {}
    instants = [lo + timedelta(seconds=rng.randrange(int((hi - lo).total_seconds()))) for _ in range(150)]
    # and the first and last second of every local day around each DST change
    for d in period.dates():
        if sales.local_midnight(d + timedelta(days=1), tz) - sales.local_midnight(d, tz) != timedelta(days=1):
            instants += [
                sales.local_midnight(d, tz),
                sales.local_midnight(d + timedelta(days=1), tz) - timedelta(seconds=1),
            ]
    for when in instants:
        order(when, [(p, 100, 1, 0, 0)])
        day = when.astimezone(tz).date()
        expected[day] = expected.get(day, 0) + 1
    db.session.commit()

    got = {d["day"]: d["orders"] for d in sales.daily_sales(period) if d["orders"]}
    assert got == expected
