"""The OpenAPI document says what the API does: shared refusals, limits from settings, rules
between parameters, links, headers; and the refusals themselves (414, repeated parameters)."""

from __future__ import annotations

import re

import pytest

from tests.factories import bearer_headers, make_product, make_user

PROBLEM = "application/problem+json"
METHODS = {"get", "post", "put", "patch", "delete"}


def _operations(doc: dict):
    """``(label, operation)`` for every operation of the document."""
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


@pytest.fixture
def doc(client) -> dict:
    """The served OpenAPI document."""
    return client.get("/api/v1/openapi.json").get_json()


def test_over_long_urls_are_414_problems_for_the_api_and_pages(app, client):
    limit = app.config["MAX_URL_LENGTH"]
    assert limit < 4094 - len("DELETE  HTTP/1.1")  # inside gunicorn's default request line
    path = "/api/v1/search?q="
    at_limit = client.get(path + "x" * (limit - len(path)))
    assert at_limit.status_code == 422  # long, but the URL is still read (q is too long)
    resp = client.get(path + "x" * (limit - len(path) + 1))
    assert resp.status_code == 414 and resp.mimetype == PROBLEM
    assert resp.get_json()["detail"] == f"The URL is {limit + 1} bytes long; at most {limit} are accepted."
    # Percent-encoded bytes count, as the server reads them: 1,000 "é" are 6,000 bytes.
    assert client.get("/api/v1/search", query_string={"q": "é" * 1000}).status_code == 414
    page = client.get("/search?q=" + "x" * limit)
    assert page.status_code == 414 and page.mimetype == "text/html"


def test_every_operation_documents_the_shared_refusals_as_problems(doc):
    ids = set()
    for label, operation in _operations(doc):
        responses = operation["responses"]
        assert {"414", "429"} <= set(responses), label
        assert set(responses["414"]["content"]) == {PROBLEM, "text/html"}, label
        assert "Retry-After" in responses["429"]["headers"], label
        for status, response in responses.items():
            if status[0] in "45" and "$ref" not in response:
                assert PROBLEM in response["content"], (label, status)
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(responses), label
        if operation.get("security") == [{"bearerAuth": []}]:
            assert {"401", "403"} <= set(responses), label
        ids.add(operation["operationId"])
    assert len(ids) == len(list(_operations(doc)))


def test_links_lead_to_documented_operations(doc):
    ids = {operation["operationId"] for _, operation in _operations(doc)}
    links = [
        link
        for _, operation in _operations(doc)
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(links) >= 10 and {link["operationId"] for link in links} <= ids
    created = doc["paths"]["/api/v1/orders"]["post"]["responses"]["201"]
    assert created["links"]["GetOrder"]["parameters"] == {"number": "$response.body#/data/number"}
    assert created["headers"]["Location"]["required"] is True


def test_limits_that_are_settings_are_documented_from_the_settings(app_factory, db):
    app = app_factory(API_MAX_PER_PAGE=50, PAYMENT_PROVIDERS=["manual"])
    client = app.test_client()
    doc = client.get("/api/v1/openapi.json").get_json()
    params = {p["name"]: p["schema"] for p in doc["paths"]["/api/v1/products"]["get"]["parameters"]}
    assert params["per_page"]["maximum"] == 50
    order = doc["components"]["schemas"]["OrderCreate"]["properties"]
    assert order["payment_provider"]["enum"] == ["manual"]
    assert client.get("/api/v1/products?per_page=51").status_code == 422
    assert client.get("/api/v1/products?per_page=50").status_code == 200
    user = make_user()
    db.session.commit()
    body = {"shipping_address": {}, "payment_provider": "test"}
    resp = client.post("/api/v1/orders", json=body, headers=bearer_headers(user))
    assert resp.status_code == 422 and resp.get_json()["errors"]["payment_provider"] == [
        "Must be one of: manual."
    ]


@pytest.mark.parametrize(
    "path, name",
    [
        ("/api/v1/products?per_page=5&per_page=50", "per_page"),
        ("/api/v1/products?sort=name&sort=newest", "sort"),
        ("/api/v1/search?q=a&q=b", "q"),
        ("/api/v1/search/suggest?limit=2&limit=3", "limit"),
        ("/api/v1/orders?page=1&page=2", "page"),
        ("/api/v1/auth/tokens?per_page=1&per_page=2", "per_page"),
    ],
)
def test_a_single_valued_query_parameter_given_twice_is_422(client, db, path, name):
    user = make_user()
    db.session.commit()
    resp = client.get(path, headers=bearer_headers(user))
    assert resp.status_code == 422 and resp.mimetype == PROBLEM
    assert resp.get_json()["errors"] == {name: ["Give this parameter once."]}


def test_a_repeatable_query_parameter_may_be_repeated(client, db):
    make_product(brand="Acme")
    db.session.commit()
    assert client.get("/api/v1/search?brand=Acme&brand=Other").status_code == 200


def test_text_rules_and_rules_between_fields_are_documented(doc):
    schemas = doc["components"]["schemas"]
    # JSON text never holds NUL (refused with 422 before validation): every body string says so.
    for name in ("Address", "CartItemCreate", "ProductPatch", "Register", "TokenCreate", "Cancel"):
        for field, prop in schemas[name]["properties"].items():
            if prop.get("type") == "string" and "enum" not in prop:
                assert re.search(prop["pattern"], "0\x00") is None, (name, field)
    assert schemas["Address"]["properties"]["name"]["pattern"] == "^[^\\x00]*[^\\x00\\s][^\\x00]*$"
    assert schemas["ProductPatch"]["minProperties"] == 1
    assert schemas["Register"]["properties"]["email"]["format"] == "email"
    assert schemas["Register"]["properties"]["password"]["minLength"] == 8
    products = {p["name"]: p for p in doc["paths"]["/api/v1/products"]["get"]["parameters"]}
    assert "Must not be more than max_price (422)" in products["min_price"]["description"]
    search = {p["name"]: p for p in doc["paths"]["/api/v1/search"]["get"]["parameters"]}
    assert search["min_price"]["schema"]["enum"] == [0, 2500, 10000, 25000, 100000]
    assert "one band's bounds" in search["min_price"]["description"]
