"""Shopper pages: home, listing (pagination, sort, filters), category pages, product page."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from tests.factories import make_category, make_product


def _names(html: str) -> list[str]:
    """Product names in a listing, in page order."""
    return re.findall(r'title="([^"]+)" class="stretched-link[^"]*product-name">', html)


def _tree(db):
    top = make_category("Computers", slug="computers")
    laptops = make_category("Laptops", parent=top, slug="laptops")
    desktops = make_category("Desktops", parent=top, slug="desktops")
    printing = make_category("Printing", slug="printing")
    toner = make_category("Toner & ink", parent=printing, slug="toner-ink")
    return top, laptops, desktops, printing, toner


def test_listing_paginates_24_a_page_and_sorts_by_price(client, db):
    _, laptops, *_ = _tree(db)
    for n in range(30):
        make_product(name=f"Laptop {n:02d}", price_cents=1000 + n * 100, category=laptops)
    db.session.commit()
    page1 = client.get("/products?sort=price_desc").get_data(as_text=True)
    names = _names(page1)
    assert len(names) == 24
    assert names[0] == "Laptop 29" and names[-1] == "Laptop 06"
    assert "$39.00" in page1 and "30 products" in page1
    assert 'href="/products?page=2&amp;sort=price_desc"' in page1
    page2 = client.get("/products?sort=price_desc&page=2").get_data(as_text=True)
    assert _names(page2) == [f"Laptop {n:02d}" for n in range(5, -1, -1)]
    by_name = _names(client.get("/products").get_data(as_text=True))
    assert by_name == sorted(by_name) and by_name[0] == "Laptop 00"


def test_listing_filters_by_brand_and_price_and_sorts_newest(client, db):
    _, laptops, *_ = _tree(db)
    make_product(
        name="Old HP",
        brand="HP",
        price_cents=5000,
        category=laptops,
        released_at=datetime(2005, 1, 1, tzinfo=timezone.utc),
    )
    make_product(
        name="New HP",
        brand="HP",
        price_cents=15000,
        category=laptops,
        released_at=datetime(2010, 1, 1, tzinfo=timezone.utc),
    )
    make_product(name="Dell one", brand="DELL", price_cents=7000, category=laptops)
    db.session.commit()
    assert _names(client.get("/products?brand=HP&sort=newest").get_data(as_text=True)) == ["New HP", "Old HP"]
    assert _names(client.get("/products?min_price=60&max_price=100").get_data(as_text=True)) == ["Dell one"]
    html = client.get("/products").get_data(as_text=True)
    assert '<option value="HP" >HP (2)</option>' in html


def test_category_page_lists_leaves_of_a_top_category_with_tree_nav(client, db):
    top, laptops, desktops, printing, toner = _tree(db)
    make_product(name="A laptop", category=laptops)
    make_product(name="A desktop", category=desktops)
    make_product(name="A toner", category=toner)
    make_product(name="Hidden draft", category=laptops, status="draft")
    db.session.commit()
    html = client.get("/c/computers").get_data(as_text=True)
    assert _names(html) == ["A desktop", "A laptop"]
    assert 'href="/c/toner-ink"' in html  # the tree in the sidebar
    assert '<h1 class="h3">Computers</h1>' in html
    leaf = client.get("/c/laptops").get_data(as_text=True)
    assert _names(leaf) == ["A laptop"]
    assert client.get("/c/nope").status_code == 404


def test_product_page_shows_price_stock_specs_and_cart_form(client, db):
    _, laptops, *_ = _tree(db)
    make_product(
        name="HP Pavilion dv7",
        slug="hp-pavilion-dv7",
        brand="HP",
        price_cents=109995,
        stock=3,
        category=laptops,
        description="Fast\nnotebook",
        attributes={"Processor frequency": "2.13", "Weight": "3.4"},
        image_url="http://images.example/1.jpg",
    )
    db.session.commit()
    resp = client.get("/p/hp-pavilion-dv7")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "HP Pavilion dv7</h1>" in html and "$1,099.95" in html
    assert "Only 3 left" in html
    assert '<tr><th scope="row">Processor frequency</th><td>2.13 GHz</td></tr>' in html
    assert "Fast<br>notebook" in html
    assert 'src="https://images.example/1.jpg"' in html and "img/placeholder.svg" in html
    assert "js/images.js" in html and "onerror" not in html
    assert 'href="/c/laptops"' in html
    if "orders.cart_add" in client.application.view_functions:
        assert 'action="/cart/add"' in html and 'name="sku" value="' in html and 'name="quantity"' in html


def test_stock_states(client, db):
    make_product(name="Plenty", slug="plenty", stock=50)
    make_product(name="None left", slug="none-left", stock=0)
    db.session.commit()
    assert "In stock" in client.get("/p/plenty").get_data(as_text=True)
    html = client.get("/p/none-left").get_data(as_text=True)
    assert "Out of stock" in html and 'action="/cart/add"' not in html


def test_archived_and_draft_products_are_404_for_shoppers(client, db):
    make_product(name="Gone", slug="gone", status="archived")
    make_product(name="Not yet", slug="not-yet", status="draft")
    db.session.commit()
    assert client.get("/p/gone").status_code == 404
    assert client.get("/p/not-yet").status_code == 404
    assert "Gone" not in client.get("/products").get_data(as_text=True)


def test_home_shows_categories_and_products(client, db):
    _, laptops, *_ = _tree(db)
    make_product(name="Home laptop", category=laptops)
    db.session.commit()
    html = client.get("/").get_data(as_text=True)
    index = html.split("home-categories")[1].split("</ul>")[0]
    assert 'href="/c/computers"' in index and "1 product" in index
    assert "Home laptop" in html.split("home-categories")[0]  # products come before the index
    assert 'href="/c/printing"' not in index  # empty top hidden
