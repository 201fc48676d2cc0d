"""Search under concurrent requests: a threaded server answering many searches, results
pages and suggestions at once gives every request the answer it gives alone (nothing shared
in the search path, such as the stemmer, the rankers' per-text caches, the result cache or
the cached pages, is corrupted by another thread)."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from shop.search import ranking, tokens
from tests.factories import make_category, make_product

#: Typed prefixes and queries whose words need stemming ("connectors", "chargers", ...),
#: correcting ("labtop") and splitting, so that every shared step runs.
PREFIXES = ["conn", "charg", "batteri", "lapto", "adapt", "printin", "wirele", "speake"]
QUERIES = ["laptops chargers", "wireless speakers", "labtop", "printing cables", "battery adapters"]


@pytest.fixture
def busy_switching():
    """Let threads take turns as often as the interpreter allows, so that races show."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


@pytest.fixture
def catalog(db):
    """A few dozen products whose words stem in many ways."""
    laptops = make_category("Laptops", parent=make_category("Computers"))
    words = [
        "connectors",
        "chargers",
        "batteries",
        "laptops",
        "adapters",
        "printing",
        "wireless",
        "speakers",
        "cables",
        "connection",
    ]
    for i, word in enumerate(words):
        for j in range(3):
            make_product(f"Acme {word} {words[(i + j + 1) % len(words)]} model{i}{j}", category=laptops)
    db.session.commit()


def _fetch(url: str) -> tuple[int, object]:
    """GET ``url``: (status, JSON body or text)."""
    resp = requests.get(url, timeout=30)
    try:
        return resp.status_code, resp.json()
    except ValueError:
        return resp.status_code, resp.text


def test_concurrent_searches_and_suggestions_answer_as_one_at_a_time(live_url, catalog, busy_switching):
    urls = [f"{live_url}/api/v1/search/suggest?q={p}" for p in PREFIXES]
    urls += [f"{live_url}/api/v1/search?q={q}&per_page=10" for q in QUERIES]
    urls += [f"{live_url}/search?q={q}" for q in QUERIES]
    # A fresh process: empty stemming and token caches, as on a just-started server.
    tokens.stem.cache_clear()
    ranking.forget_tokens()
    barrier = threading.Barrier(8)

    def at_once(url: str) -> tuple[int, object]:
        barrier.wait(timeout=30)
        return _fetch(url)

    rounds = []
    for _ in range(3):
        with ThreadPoolExecutor(max_workers=8) as pool:
            rounds.append(list(pool.map(at_once, (urls * 2)[: 8 * (len(urls) * 2 // 8)])))
        tokens.stem.cache_clear()
        ranking.forget_tokens()
    alone = {url: _fetch(url) for url in urls}
    for answers in rounds:
        for url, (status, body) in zip(urls * 2, answers):
            assert status == 200, (url, body)
            assert (status, body) == alone[url], url
    # The answers are real: the suggestions and results name the products.
    assert alone[urls[0]][1]["data"]["products"]
    found = alone[urls[len(PREFIXES)]][1]
    assert found["meta"]["total"] == 6 and len(found["data"]) == 6
    page = alone[urls[len(PREFIXES) + len(QUERIES)]][1]
    assert page.count('class="card h-100 product-card"') == 6
