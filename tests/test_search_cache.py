"""The search result cache: a repeated search is answered from the cache, and any change to
what search reads (by the ORM, Core or raw SQL, committed or not) is seen at once."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shop.search import services
from tests.factories import make_category, make_product


@pytest.fixture
def runs(monkeypatch):
    """Counts the searches actually run (not answered from the cache)."""
    calls = []
    real = services._search

    def counting(params, with_facets, backend, state):
        calls.append(params.q)
        return real(params, with_facets, backend, state)

    monkeypatch.setattr(services, "_search", counting)
    return calls


@pytest.fixture
def catalog(db):
    """Thirty speakers in one category."""
    audio = make_category("Speakers", parent=make_category("Audio"))
    for i in range(30):
        make_product(f"Acme S{i} speaker set", sku=f"S{i}", category=audio, price_cents=1000 + i)
    db.session.commit()


def _skus(client, q: str, **args) -> tuple[int, list[str]]:
    body = client.get("/api/v1/search", query_string={"q": q, **args}).get_json()
    return body["meta"]["total"], [p["sku"] for p in body["data"]]


def test_a_repeated_search_is_answered_from_the_cache(client, catalog, runs):
    first = _skus(client, "speaker", per_page=10)
    assert first[0] == 30 and len(first[1]) == 10
    assert _skus(client, "speaker", per_page=10) == first
    assert runs == ["speaker"]
    # Another page or another filter is another search.
    page2 = _skus(client, "speaker", per_page=10, page=2)
    assert not set(page2[1]) & set(first[1])
    assert runs == ["speaker", "speaker"]
    # The results page and the API share the cached outcome of the same search.
    html = client.get("/search?q=speaker").get_data(as_text=True)
    assert "Acme S0 speaker set" in html or "Acme S29 speaker set" in html


def test_a_change_by_any_code_path_is_seen_at_once(app, client, catalog, runs, db):
    assert _skus(client, "zanzibar")[0] == 0
    # Raw SQL on another connection, committed: neither the ORM nor the catalog version
    # knows of it; the index's triggers do.
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE products SET name = 'Acme zanzibar speaker' WHERE sku = 'S3'"))
    assert _skus(client, "zanzibar") == (1, ["S3"])
    # Stock only (no word changes): the in-stock facet and filter follow.
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE products SET stock = 0 WHERE sku = 'S3'"))
    assert _skus(client, "zanzibar", in_stock="true") == (0, [])
    assert len(runs) == 3


def test_a_transaction_that_has_written_is_never_cached(client, catalog, runs, db):
    db.session.execute(text("UPDATE products SET name = 'Acme quokka speaker' WHERE sku = 'S5'"))
    assert services.ranked_skus("quokka") == ["S5"]
    db.session.rollback()
    assert services.ranked_skus("quokka") == []
    assert services.ranked_skus("quokka") == []
    assert runs == ["quokka", "quokka"]
