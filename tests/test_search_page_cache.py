"""The search results page is cached whole for visitors without a session, as the category
pages are: a repeated search neither searches nor renders, and a sale, a stock or price edit
shows on it at once (the products it lists, and the in-stock facet that counts them all).

Under ``TEST_REDIS_URL`` the shopper reads go through a second app ("another worker") that
shares only the database and Redis with the app that makes the change.
"""

from __future__ import annotations

import re

import pytest

from shop.search import services, views
from tests.factories import bearer_headers, make_category, make_product, make_user
from tests.test_page_cache import _order

#: Sorted by price, the first page holds S0..S23 and the second S24..S29.
CHEAP_FIRST = "/search?q=speaker&sort=price_asc"


@pytest.fixture
def shopper(app, app_factory, redis_url):
    """The test client of a second app on the same database and cache (the same app's
    client without Redis, where the cache is each app's memory)."""
    return (app_factory() if redis_url else app).test_client()


@pytest.fixture
def built(monkeypatch):
    """Counts the results pages built (``"page"``) and the searches run (``"search"``)."""
    calls = []
    stamped, run = views.search_stamped, services._search

    def counting_page(params):
        calls.append("page")
        return stamped(params)

    def counting_search(params, with_facets, backend, state):
        calls.append("search")
        return run(params, with_facets, backend, state)

    monkeypatch.setattr(views, "search_stamped", counting_page)
    monkeypatch.setattr(services, "_search", counting_search)
    return calls


@pytest.fixture
def speakers(db):
    """Thirty speakers, S0 (cheapest) to S29, four of each in stock."""
    audio = make_category("Speakers", slug="speakers")
    for i in range(30):
        make_product(
            f"Acme S{i} speaker set", sku=f"S{i}", slug=f"s{i}", category=audio, price_cents=1000 + i, stock=4
        )
    db.session.commit()


def _stock_badge(html: str, name: str) -> str:
    """The stock badge on the card of the product ``name`` (titles are highlighted, so the
    card is found by its link's title)."""
    card = html[html.index(f'title="{name}"') :]
    return re.search(r'stock-state">([^<]+)<', card).group(1)


def _in_stock_count(html: str) -> int:
    """The count next to the "In stock" facet."""
    facet = html[html.index('id="facet-stock-h"') :]
    return int(re.search(r"In stock\D*?(\d+)", facet).group(1))


def test_a_repeated_anonymous_search_page_is_served_whole(app, speakers, built):
    client = app.test_client()
    first = client.get(CHEAP_FIRST)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "public, no-cache"
    assert built == ["page", "search"]
    again = client.get(CHEAP_FIRST)
    assert again.get_data() == first.get_data()
    assert built == ["page", "search"]  # neither searched nor rendered
    # Another page is another URL: built once, from its own search.
    second = client.get(CHEAP_FIRST + "&page=2").get_data(as_text=True)
    assert "Acme S29 speaker set" in second and "Acme S0 speaker set" not in second
    assert built == ["page", "search"] * 2


def test_a_visitor_with_a_session_gets_a_page_built_for_them(app, speakers, built):
    client = app.test_client()
    client.get(CHEAP_FIRST)
    client.set_cookie("session", "someone")
    resp = client.get(CHEAP_FIRST)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "private, no-store"
    # Rendered again (the search itself from the result cache), never the public copy.
    assert built == ["page", "search"]
    assert "Acme S0 speaker set" in resp.get_data(as_text=True)


def test_a_sale_shows_on_cached_search_pages_at_once(app, client, db, speakers, shopper):
    buyer = make_user()
    db.session.commit()
    headers = bearer_headers(buyer, scopes=["orders"])
    page = shopper.get(CHEAP_FIRST).get_data(as_text=True)
    assert _stock_badge(page, "Acme S0 speaker set") == "Only 4 left"
    assert _in_stock_count(page) == 30

    _order(client, headers, "S0", 1)  # listed on the page
    page = shopper.get(CHEAP_FIRST).get_data(as_text=True)
    assert _stock_badge(page, "Acme S0 speaker set") == "Only 3 left"
    assert _in_stock_count(page) == 30

    _order(client, headers, "S29", 4)  # sold out, on page 2 only: the facet counts it
    page = shopper.get(CHEAP_FIRST).get_data(as_text=True)
    assert "Acme S29 speaker set" not in page
    assert _in_stock_count(page) == 29
    in_stock = shopper.get(CHEAP_FIRST + "&in_stock=1&page=2").get_data(as_text=True)
    assert "Acme S28 speaker set" in in_stock and "Acme S29 speaker set" not in in_stock


def test_staff_price_and_stock_edits_show_on_cached_search_pages(app, client, db, speakers, shopper):
    staff = make_user(role="staff")
    db.session.commit()
    headers = bearer_headers(staff)
    page = shopper.get(CHEAP_FIRST).get_data(as_text=True)
    assert "$10.00" in page and _stock_badge(page, "Acme S0 speaker set") == "Only 4 left"

    resp = client.patch("/api/v1/products/s0", json={"price_cents": 995}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    resp = client.patch("/api/v1/products/s1", json={"stock": 40, "expected_stock": 4}, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    page = shopper.get(CHEAP_FIRST).get_data(as_text=True)
    assert "$9.95" in page and "$10.00" not in page
    assert _stock_badge(page, "Acme S1 speaker set") == "In stock"
