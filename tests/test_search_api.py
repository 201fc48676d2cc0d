"""Search JSON API: ranked products, facets in meta, filters, sorting, paging, validation, suggest."""

from __future__ import annotations

import pytest

from shop.search.params import MAX_QUERY_LENGTH
from tests.factories import make_category, make_product
from tests.test_search_pages import INJECTIONS, catalog  # noqa: F401  (shared catalog fixture)

PROBLEM = "application/problem+json"


def skus(body: dict) -> list[str]:
    """SKUs of a collection, in order."""
    return [p["sku"] for p in body["data"]]


def test_search_returns_ranked_products_with_facets(client, catalog):
    p = catalog["products"]
    resp = client.get("/api/v1/search?q=laptop")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
    body = resp.get_json()
    assert set(skus(body)) == {p["thinkpad"].sku, p["pavilion"].sku, p["ideapad"].sku}
    assert p["old"].sku not in skus(body)
    first = body["data"][0]
    assert {
        "sku",
        "slug",
        "name",
        "brand",
        "category",
        "price_cents",
        "currency",
        "stock",
        "in_stock",
        "url",
    } <= set(first)
    meta = body["meta"]
    assert (meta["page"], meta["per_page"], meta["total"], meta["pages"]) == (1, 24, 3, 1)
    facets = meta["facets"]
    assert {f["value"]: f["count"] for f in facets["brand"]} == {"Lenovo": 2, "HP": 1}
    assert {f["slug"]: f["count"] for f in facets["category"]} == {catalog["laptops"].slug: 3}
    assert {f["key"]: f["count"] for f in facets["price"] if f["count"]} == {"250-1000": 3}
    assert facets["in_stock"] == {"count": 2, "selected": False}
    assert meta["did_you_mean"] is None and meta["closest_categories"] == []
    assert body["links"]["next"] is None and body["links"]["prev"] is None


def test_a_result_says_what_the_product_api_says_of_the_product(client, db):
    """Result lists read plain columns, not ORM products: the same JSON all the same,
    with a leaf category's full name and without a category."""
    leaf = make_category("Tablets", parent=make_category("Computers"))
    make_product("Acme slate tablet", brand="Acme", category=leaf, sku="SLATE", price_cents=19999, stock=0)
    make_product("Acme slate stylus", brand="Acme", category=None, sku="STYLUS", image_url="/img/s.png")
    db.session.commit()
    found = {p["sku"]: p for p in client.get("/api/v1/search?q=slate").get_json()["data"]}
    assert set(found) == {"SLATE", "STYLUS"}
    for listed in found.values():
        alone = client.get(f"/api/v1/products/{listed['slug']}").get_json()["data"]
        assert listed == {k: alone[k] for k in listed}
    assert found["SLATE"]["category"] == {
        "slug": leaf.slug,
        "name": "Tablets",
        "full_name": "Computers > Tablets",
    }
    assert found["SLATE"]["in_stock"] is False and found["SLATE"]["price_cents"] == 19999
    assert found["STYLUS"]["category"] is None and found["STYLUS"]["image_url"] == "/img/s.png"


def test_filters_narrow_results(client, catalog):
    p = catalog["products"]
    body = client.get("/api/v1/search?q=laptop&brand=HP").get_json()
    assert skus(body) == [p["pavilion"].sku] and body["meta"]["total"] == 1
    assert [f for f in body["meta"]["facets"]["brand"] if f["selected"]] == [
        {"value": "HP", "count": 1, "selected": True}
    ]
    body = client.get("/api/v1/search?q=laptop&in_stock=true").get_json()
    assert set(skus(body)) == {p["thinkpad"].sku, p["ideapad"].sku}
    body = client.get(f"/api/v1/search?q=lenovo&category={catalog['tablets'].slug}").get_json()
    assert skus(body) == [p["tab"].sku]
    body = client.get(f"/api/v1/search?q=lenovo&category={catalog['computers'].slug}").get_json()
    assert body["meta"]["total"] == 3  # a top-level category covers its leaves
    body = client.get("/api/v1/search?q=lenovo&price=100-250").get_json()
    assert skus(body) == [p["tab"].sku]
    body = client.get("/api/v1/search?q=lenovo&min_price=10000&max_price=24999").get_json()
    assert skus(body) == [p["tab"].sku]
    body = client.get("/api/v1/search?q=laptop&brand=HP&brand=Lenovo").get_json()
    assert body["meta"]["total"] == 3
    body = client.get("/api/v1/search?brand=HP").get_json()  # no text: filtered listing
    assert skus(body) == [p["pavilion"].sku]


def test_sort_orders(client, catalog):
    p = catalog["products"]
    up = skus(client.get("/api/v1/search?q=lenovo&sort=price_asc").get_json())
    assert up == [p["tab"].sku, p["ideapad"].sku, p["thinkpad"].sku]
    assert skus(client.get("/api/v1/search?q=lenovo&sort=price_desc").get_json()) == list(reversed(up))
    newest = skus(client.get("/api/v1/search?q=laptop&sort=newest").get_json())
    assert newest == [p["ideapad"].sku, p["pavilion"].sku, p["thinkpad"].sku]


def test_pagination_links(client, db):
    cat = make_category("Cables")
    made = [make_product(f"USB cable {i:02d}", category=cat, price_cents=100 + i) for i in range(7)]
    db.session.commit()
    body = client.get("/api/v1/search?q=cable&per_page=3&sort=price_asc&brand=Acme").get_json()
    assert body["meta"]["total"] == 7 and body["meta"]["pages"] == 3
    assert skus(body) == [m.sku for m in made[:3]]
    nxt = body["links"]["next"]
    assert "page=2" in nxt and "per_page=3" in nxt and "q=cable" in nxt and "brand=Acme" in nxt
    body = client.get(nxt).get_json()
    assert skus(body) == [m.sku for m in made[3:6]] and body["links"]["prev"]
    body = client.get("/api/v1/search?q=cable&per_page=3&page=3&sort=price_asc").get_json()
    assert skus(body) == [made[6].sku] and body["links"]["next"] is None


@pytest.mark.parametrize(
    "query, field",
    [
        ("page=abc", "page"),
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
        ("sort=bogus", "sort"),
        ("price=cheap", "price"),
        ("in_stock=maybe", "in_stock"),
        ("min_price=-1", "min_price"),
        ("min_price=500&max_price=100", "min_price"),
        ("min_price=123&max_price=4567", "min_price"),
        ("max_price=99999999999999", "max_price"),
    ],
)
def test_bad_parameters_are_422_problems(client, catalog, query, field):
    resp = client.get(f"/api/v1/search?q=laptop&{query}")
    assert resp.status_code == 422
    assert resp.headers["Content-Type"] == PROBLEM
    body = resp.get_json()
    assert body["status"] == 422 and field in body["errors"]


def test_zero_results_carry_did_you_mean_and_closest_categories(client, catalog):
    body = client.get("/api/v1/search?q=lenovvo&brand=HP").get_json()
    assert body["data"] == [] and body["meta"]["total"] == 0
    assert body["meta"]["did_you_mean"] == "lenovo"
    body = client.get("/api/v1/search?q=tbalte").get_json()
    assert body["data"] == []
    assert catalog["tablets"].slug in [c["slug"] for c in body["meta"]["closest_categories"]]


def test_typo_and_partial_model_number(client, catalog):
    p = catalog["products"]
    body = client.get("/api/v1/search?q=labtop").get_json()
    assert p["thinkpad"].sku in skus(body) and body["meta"]["did_you_mean"] == "laptop"
    assert body["meta"]["corrected"] is True
    # literal=true searches the word as typed: nothing has it; the correction is offered.
    literal = client.get("/api/v1/search?q=labtop&literal=true").get_json()
    assert literal["data"] == [] and literal["meta"]["corrected"] is False
    assert literal["meta"]["did_you_mean"] == "laptop"
    # A word the catalog knows is not corrected.
    assert client.get("/api/v1/search?q=laptop").get_json()["meta"]["corrected"] is False
    assert p["pavilion"].sku in skus(client.get("/api/v1/search?q=dv7-1211").get_json())


def test_injection_style_queries_never_fail(client, catalog):
    for q in INJECTIONS:
        resp = client.get("/api/v1/search", query_string={"q": q})
        assert resp.status_code == 200, q
        body = resp.get_json()
        assert (
            isinstance(body["data"], list)
            and body["meta"]["total"] == len(body["data"])
            or body["meta"]["total"] > 24
        )
        assert catalog["products"]["old"].sku not in skus(body)
    resp = client.get("/api/v1/search", query_string={"q": "x" * (MAX_QUERY_LENGTH + 1)})
    assert resp.status_code == 422 and resp.headers["Content-Type"] == PROBLEM
    resp = client.get("/api/v1/search", query_string={"q": "x" * 30_000})  # past the URL limit
    assert resp.status_code == 414 and resp.headers["Content-Type"] == PROBLEM


def test_suggest_returns_products_categories_and_brands(client, db):
    laptops = make_category("Laptops")
    make_category("Lamps")
    thinkpad = make_product("Lenovo ThinkPad laptop", brand="Lenovo", category=laptops)
    make_product("Lenovo archived laptop", brand="Lenovo", category=laptops, status="archived")
    make_product("Acer Aspire", brand="Acer", category=laptops)
    db.session.commit()
    resp = client.get("/api/v1/search/suggest?q=la")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
    data = resp.get_json()["data"]
    assert {c["name"] for c in data["categories"]} >= {"Laptops"}
    lap = next(c for c in data["categories"] if c["name"] == "Laptops")
    assert lap["url"] == f"/c/{laptops.slug}"
    assert thinkpad.sku in [p["sku"] for p in data["products"]]
    assert "Lenovo archived laptop" not in [p["name"] for p in data["products"]]
    data = client.get("/api/v1/search/suggest?q=leno").get_json()["data"]
    assert data["brands"] == [{"name": "Lenovo", "url": "/search?brand=Lenovo"}]
    assert [p["url"] for p in data["products"]] == [f"/p/{thinkpad.slug}"]
    data = client.get("/api/v1/search/suggest?q=").get_json()["data"]
    assert data == {"products": [], "categories": [], "brands": []}


def test_suggested_categories_put_the_one_of_the_kind_typed_first(client, db):
    computers = make_category("Computers")
    parts = make_category("Laptop parts & docks", parent=computers)
    laptops = make_category("Laptops", parent=computers)
    make_product("Acme laptop lock", category=parts)
    make_product("Acme notebook", category=laptops)
    db.session.commit()
    names = [
        c["name"] for c in client.get("/api/v1/search/suggest?q=laptop").get_json()["data"]["categories"]
    ]
    assert names[:2] == ["Laptops", "Laptop parts & docks"], names
    # An unfinished word names no kind yet: the usual order (by name).
    names = [c["name"] for c in client.get("/api/v1/search/suggest?q=lapt").get_json()["data"]["categories"]]
    assert names[:2] == ["Laptop parts & docks", "Laptops"]


def test_suggest_validates_and_survives_odd_input(client, catalog):
    for q in INJECTIONS[:-2]:
        resp = client.get("/api/v1/search/suggest", query_string={"q": q[:200]})
        assert resp.status_code == 200, q
        assert set(resp.get_json()["data"]) == {"products", "categories", "brands"}
    resp = client.get("/api/v1/search/suggest?q=la&limit=0")
    assert resp.status_code == 422 and "limit" in resp.get_json()["errors"]


def test_search_is_documented_in_openapi(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    op = doc["paths"]["/api/v1/search"]["get"]
    names = {p["name"] for p in op["parameters"]}
    assert {
        "q",
        "page",
        "per_page",
        "category",
        "brand",
        "min_price",
        "max_price",
        "in_stock",
        "sort",
    } <= names
    assert "application/json" in op["responses"]["200"]["content"]
    error = op["responses"]["422"]
    if "$ref" in error:
        error = doc["components"]["responses"][error["$ref"].rsplit("/", 1)[-1]]
    assert "application/problem+json" in error["content"]
    props = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert props["$ref"].endswith("SearchCollection")
    assert "/api/v1/search/suggest" in doc["paths"]
