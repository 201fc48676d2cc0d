"""Search results page: results, facets, filters, sorting, paging, highlighting, zero results."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from shop.dbtypes import utcnow
from shop.search.params import MAX_QUERY_LENGTH
from shop.search.views import highlight
from tests.factories import make_category, make_product

INJECTIONS = [
    '"',
    '""',
    "*",
    "OR",
    "laptop OR",
    "-",
    "- -laptop",
    '"unbalanced',
    "NEAR(",
    "NEAR(a b",
    "a AND",
    "' OR 1=1 --",
    "title:x",
    "^x",
    "(((",
    "\\",
    "%",
    "_",
    "x" * MAX_QUERY_LENGTH,
    "lap* NOT",
    "{}[]",
    "\x00",
]


@pytest.fixture
def catalog(db):
    """Two categories and a few products (one archived) with known brands, prices and stock."""
    computers = make_category("Computers")
    laptops = make_category("Laptops", parent=computers)
    tablets = make_category("Tablets", parent=computers)
    now = utcnow()
    p = {
        "thinkpad": make_product(
            "Lenovo ThinkPad laptop",
            brand="Lenovo",
            price_cents=89900,
            stock=5,
            category=laptops,
            model="T480",
            created_at=now - timedelta(days=3),
        ),
        "pavilion": make_product(
            "HP Pavilion laptop dv7",
            brand="HP",
            price_cents=64900,
            stock=0,
            category=laptops,
            model="dv7-1211ea",
            created_at=now - timedelta(days=2),
        ),
        "ideapad": make_product(
            "Lenovo IdeaPad laptop",
            brand="Lenovo",
            price_cents=45900,
            stock=2,
            category=laptops,
            created_at=now - timedelta(days=1),
        ),
        "tab": make_product(
            "Lenovo Tab tablet", brand="Lenovo", price_cents=19900, stock=7, category=tablets, created_at=now
        ),
        "old": make_product(
            "Archived laptop relic",
            brand="Lenovo",
            price_cents=9900,
            stock=3,
            category=laptops,
            status="archived",
        ),
    }
    db.session.commit()
    return {"products": p, "laptops": laptops, "tablets": tablets, "computers": computers}


def names(html: str) -> list[str]:
    """Product names of the result cards, in page order, without the <mark> tags."""
    found = re.findall(r'class="stretched-link[^"]*product-name">(.*?)</a>', html, re.S)
    return [re.sub(r"</?mark>", "", n).strip() for n in found]


def facet(html: str, kind: str) -> dict[str, int]:
    """Facet label -> count from the sidebar section ``kind``."""
    section = re.search(rf'class="mb-3 facet facet-{kind}".*?</section>', html, re.S)
    assert section, f"no {kind} facet"
    rows = re.findall(
        r'<span class="flex-grow-1 text-truncate">(.*?)</span>\s*<span class="badge[^"]*facet-count">(\d+)</span>',
        section.group(0),
        re.S,
    )
    return {label.strip(): int(n) for label, n in rows}


def test_results_contain_matches_and_never_archived(client, catalog):
    resp = client.get("/search?q=laptop")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    found = names(html)
    assert set(found) == {"Lenovo ThinkPad laptop", "HP Pavilion laptop dv7", "Lenovo IdeaPad laptop"}
    assert "Archived laptop relic" not in html
    assert "3 products" in html


def test_facet_counts(client, catalog):
    html = client.get("/search?q=lenovo").get_data(as_text=True)
    assert facet(html, "brand") == {"Lenovo": 3}
    assert facet(html, "category") == {"Laptops": 2, "Tablets": 1}
    assert facet(html, "price") == {"$100 to $250": 1, "$250 to $1,000": 2}
    assert facet(html, "stock") == {"In stock": 3}
    html = client.get("/search?q=laptop").get_data(as_text=True)
    assert facet(html, "brand") == {"Lenovo": 2, "HP": 1}
    assert facet(html, "stock") == {"In stock": 2}


def test_price_bands_are_named_in_the_shop_currency(app_factory, catalog):
    euro = app_factory(SHOP_CURRENCY="EUR", SHOP_LOCALE="de_DE").test_client()
    html = euro.get("/search?q=lenovo").get_data(as_text=True)
    # Babel writes "25 €" with a no-break space, as German does.
    assert facet(html, "price") == {"100\xa0€ to 250\xa0€": 1, "250\xa0€ to 1.000\xa0€": 2}
    assert "$" not in html
    labels = [f["label"] for f in euro.get("/api/v1/search?q=lenovo").get_json()["meta"]["facets"]["price"]]
    assert labels == [
        "Under 25\xa0€",
        "25\xa0€ to 100\xa0€",
        "100\xa0€ to 250\xa0€",
        "250\xa0€ to 1.000\xa0€",
        "1.000\xa0€ and up",
    ]
    html = euro.get("/search?q=lenovo&price=250-1000").get_data(as_text=True)
    assert "250\xa0€ to 1.000\xa0€ <span" in html  # the chip that removes the filter


def test_filters_narrow_results_and_keep_other_parameters(client, catalog):
    html = client.get("/search?q=laptop&brand=HP").get_data(as_text=True)
    assert names(html) == ["HP Pavilion laptop dv7"]
    # the brand facet still counts the other brands (a facet ignores its own filter)
    assert facet(html, "brand") == {"Lenovo": 2, "HP": 1}
    html = client.get("/search?q=laptop&in_stock=1").get_data(as_text=True)
    assert set(names(html)) == {"Lenovo ThinkPad laptop", "Lenovo IdeaPad laptop"}
    html = client.get("/search?q=lenovo&price=100-250").get_data(as_text=True)
    assert names(html) == ["Lenovo Tab tablet"]
    html = client.get(f"/search?q=lenovo&category={catalog['tablets'].slug}").get_data(as_text=True)
    assert names(html) == ["Lenovo Tab tablet"]
    # facet links keep q and the other filters, and toggle their own
    html = client.get(f"/search?q=laptop&category={catalog['laptops'].slug}&sort=price_asc").get_data(
        as_text=True
    )
    hp_link = re.search(r'href="([^"]*brand=HP[^"]*)"', html).group(1).replace("&amp;", "&")
    assert (
        "q=laptop" in hp_link
        and f"category={catalog['laptops'].slug}" in hp_link
        and "sort=price_asc" in hp_link
    )
    assert names(client.get(hp_link).get_data(as_text=True)) == ["HP Pavilion laptop dv7"]
    # with in_stock the out-of-stock HP laptop is gone from the brand facet too
    html = client.get("/search?q=laptop&in_stock=1").get_data(as_text=True)
    assert facet(html, "brand") == {"Lenovo": 2}
    # several brands: any of them
    html = client.get("/search?q=laptop&brand=HP&brand=Lenovo").get_data(as_text=True)
    assert len(names(html)) == 3


def test_sort_orders(client, catalog):
    up = names(client.get("/search?q=lenovo&sort=price_asc").get_data(as_text=True))
    assert up == ["Lenovo Tab tablet", "Lenovo IdeaPad laptop", "Lenovo ThinkPad laptop"]
    down = names(client.get("/search?q=lenovo&sort=price_desc").get_data(as_text=True))
    assert down == list(reversed(up))
    newest = names(client.get("/search?q=laptop&sort=newest").get_data(as_text=True))
    assert newest == ["Lenovo IdeaPad laptop", "HP Pavilion laptop dv7", "Lenovo ThinkPad laptop"]


def test_pagination_links(client, db):
    cat = make_category("Cables")
    for i in range(30):
        make_product(f"USB cable {i:02d}", brand="Cablo", category=cat, price_cents=100 + i)
    db.session.commit()
    html = client.get("/search?q=cable&sort=price_asc").get_data(as_text=True)
    assert "30 products" in html
    first = names(html)
    assert len(first) == 24 and first[0] == "USB cable 00"
    next_link = re.search(r'rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "page=2" in next_link and "q=cable" in next_link and "sort=price_asc" in next_link
    second = names(client.get(next_link).get_data(as_text=True))
    assert second == [f"USB cable {i:02d}" for i in range(24, 30)]
    beyond = client.get("/search?q=cable&page=99")
    assert beyond.status_code == 200 and b"only 2 pages" in beyond.data


def test_highlighting_escapes_html(client, db):
    make_product("<script>alert(1)</script> x-ray cable", brand="Evil")
    db.session.commit()
    html = client.get("/search?q=script+cable").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt; x-ray <mark>cable</mark>" in html
    data = client.get("/api/v1/search?q=script+cable").get_json()["data"]
    assert data[0]["name"] == "<script>alert(1)</script> x-ray cable"  # JSON carries the raw name


def test_highlight_function():
    assert str(highlight("Lenovo ThinkPad laptops", ["laptop"])) == "Lenovo ThinkPad <mark>laptops</mark>"
    assert str(highlight("HP dv7-1211ea", ["dv7", "1211"])) == "HP <mark>dv7</mark>-<mark>1211ea</mark>"
    assert str(highlight("a <b> & c", ["b"])) == "a &lt;<mark>b</mark>&gt; &amp; c"
    assert str(highlight("x < y", [])) == "x &lt; y"


def test_zero_results_offer_closest_categories(client, catalog):
    resp = client.get("/search?q=tbalte")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert names(html) == [] and 'class="no-results"' in html
    cats = re.search(r'closest-categories">(.*?)</div>', html, re.S).group(1)
    assert f'href="/c/{catalog["tablets"].slug}"' in cats


def test_zero_results_offer_did_you_mean(client, catalog):
    html = client.get("/search?q=lenovvo&brand=HP").get_data(as_text=True)
    assert names(html) == [] and 'class="no-results"' in html
    link = re.search(r'Did you mean <a href="([^"]+)"><strong>lenovo</strong></a>', html)
    assert link and link.group(1) == "/search?q=lenovo"
    assert "Search again without the filters" in html
    assert len(names(client.get(link.group(1)).get_data(as_text=True))) == 3


def test_nothing_resembling_the_query_still_offers_a_way_on(client, catalog):
    html = client.get("/search?q=qqqzzz").get_data(as_text=True)
    assert names(html) == [] and 'class="no-results"' in html
    assert f'href="/c/{catalog["laptops"].slug}"' in html or f'href="/c/{catalog["computers"].slug}"' in html
    assert 'href="/products"' in html


def test_corrected_query_shows_results_for_the_correction_and_offers_the_literal_search(client, catalog):
    html = client.get("/search?q=labtop").get_data(as_text=True)
    assert "Lenovo ThinkPad laptop" in names(html)
    assert "<mark>laptop</mark>" in html
    # The results are the correction's: the page says so, and does not ask "Did you mean".
    assert "Did you mean" not in html
    note = re.search(
        r'Showing results for <strong>laptop</strong>; search instead for <a href="([^"]+)"[^>]*>labtop</a>',
        html,
    )
    assert note, html
    # The link searches the words as typed: nothing matches "labtop" itself, and that page
    # offers the correction instead.
    literal = client.get(note.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "q=labtop" in note.group(1) and "literal=1" in note.group(1)
    assert names(literal) == [] and 'class="no-results"' in literal
    assert "Showing results for" not in literal
    assert re.search(r'Did you mean <a href="/search\?q=laptop"><strong>laptop</strong></a>', literal)


def test_empty_query_shows_a_prompt(client, catalog):
    html = client.get("/search").get_data(as_text=True)
    assert "Search the shop" in html and 'name="q"' in html
    assert f"/c/{catalog['laptops'].slug}" in html or "All products" in html
    html = client.get("/search?q=++").get_data(as_text=True)
    assert "Search the shop" in html
    # an empty query with a filter lists the filtered products (brand links from suggestions)
    html = client.get("/search?brand=HP").get_data(as_text=True)
    assert names(html) == ["HP Pavilion laptop dv7"]


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=-3",
        "page=99999999999999999999",
        "sort=bogus",
        "price=nope",
        "in_stock=maybe",
        "per_page=0",
        "category=nope",
        "brand=" + "b" * 500,
    ],
)
def test_bad_parameters_never_fail(client, catalog, query):
    resp = client.get(f"/search?q=laptop&{query}")
    assert resp.status_code == 200
    assert "Archived laptop relic" not in resp.get_data(as_text=True)


def test_injection_style_queries_never_fail(client, catalog):
    for q in INJECTIONS:
        resp = client.get("/search", query_string={"q": q})
        assert resp.status_code == 200, q
        assert b"Internal Server Error" not in resp.data


def test_typo_and_partial_model_number(client, catalog):
    assert "Lenovo ThinkPad laptop" in names(client.get("/search?q=labtop").get_data(as_text=True))
    assert "HP Pavilion laptop dv7" in names(client.get("/search?q=dv7-1211").get_data(as_text=True))


def test_search_box_works_without_javascript(client, catalog):
    html = client.get("/").get_data(as_text=True)
    form = re.search(r'<form[^>]*role="search"[^>]*>', html).group(0)
    assert 'action="/search"' in form and 'method="get"' in form
    assert 'data-suggest-url="/api/v1/search/suggest"' in html
    assert "js/suggest.js" in html


def test_relaxed_results_of_a_word_read_apart_name_the_words_read(client, db):
    """Typed as one word that the catalog writes as two, the note names the two words
    every first product has."""
    make_product("Acme Mousepad Black", sku="ONE")
    make_product("Acme gel mouse pad", sku="GEL")
    make_product("Zeta mouse pad blue", sku="BLUE")
    make_product("Zeta ink pad", sku="INK")
    db.session.commit()
    html = client.get("/search?q=mousepad").get_data(as_text=True)
    assert re.search(
        r"Only 3 products have\s+every word of <strong>mouse pad</strong>; they come first, "
        r"then products with <strong>pad</strong>\.",
        html,
    ), html
    html = client.get("/search?q=mouse+pad").get_data(as_text=True)
    assert re.search(r"Only 3 products have\s+every word; they come first", html)


def test_relaxed_results_say_which_words_every_product_has(client, catalog):
    # No product has both words; "laptop" (3 products) narrows less than "tablet" (1).
    html = client.get("/search?q=laptop+tablet").get_data(as_text=True)
    assert re.search(r"No product has every word; these have <strong>tablet</strong>\.", html)
    assert "Lenovo Tab" in html and "ThinkPad" not in html
    meta = client.get("/api/v1/search?q=laptop+tablet").get_json()["meta"]
    assert meta["relaxed"] is True and meta["required_words"] == ["tablet"]
    html = client.get("/search?q=lenovo+laptop").get_data(as_text=True)
    assert re.search(
        r"Only 2 products have\s+every word; they come first, then products with "
        r"<strong>(lenovo|laptop)</strong>\.",
        html,
    )
    meta = client.get("/api/v1/search?q=laptop").get_json()["meta"]
    assert meta["relaxed"] is False and meta["required_words"] == []
