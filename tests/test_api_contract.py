"""The OpenAPI document says what the API does: shared refusals, limits from settings, rules
between parameters, links, headers; and the refusals themselves (414, repeated parameters)."""

from __future__ import annotations

import pytest

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
