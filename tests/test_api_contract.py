"""The OpenAPI document says what the API does: shared refusals, limits from settings, rules
between parameters, links, headers; and the refusals themselves (414, repeated parameters)."""

from __future__ import annotations

PROBLEM = "application/problem+json"


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
