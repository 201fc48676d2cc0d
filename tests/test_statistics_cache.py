"""Slowly changing statistics (search's document counts, mean lengths, kind vocabulary):
kept in the shared cache, and by each process for the catalog version it read them under."""

from __future__ import annotations

from shop import cache_statistics
from shop.cache import bump_catalog_version
from shop.cache_statistics import _statistic_key, cached_statistic, store_statistic
from shop.extensions import cache


def _counter():
    """A producer returning 1, 2, 3... and the list of its calls."""
    calls: list[int] = []

    def produce() -> int:
        calls.append(1)
        return len(calls)

    return produce, calls


def test_a_process_reads_a_statistic_once_until_the_catalog_changes(app):
    produce, calls = _counter()
    with app.test_request_context():
        assert cached_statistic(("t", "count"), produce) == 1
    # The shared cache loses it; this process still has it, for the same catalog version.
    cache.delete(_statistic_key(("t", "count")))
    with app.test_request_context():
        assert cached_statistic(("t", "count"), produce) == 1
    assert calls == [1]
    # A catalog change: the next read goes to the shared cache (empty here: produced again).
    bump_catalog_version()
    with app.test_request_context():
        assert cached_statistic(("t", "count"), produce) == 2
    assert calls == [1, 1]


def test_a_statistic_kept_by_a_process_expires(app, monkeypatch):
    produce, calls = _counter()
    monkeypatch.setattr(cache_statistics, "STATISTIC_LOCAL_SECONDS", 0)
    with app.test_request_context():
        assert cached_statistic(("t", "count"), produce) == 1
        # Another process stored a newer value: read from the shared cache at once.
        cache.set(_statistic_key(("t", "count")), 7)
        assert cached_statistic(("t", "count"), produce) == 7
    assert calls == [1]


def test_a_stored_statistic_is_read_back_without_producing_it(app):
    produce, calls = _counter()
    with app.test_request_context():
        store_statistic(("t", "pair"), 5)
        cache.delete(_statistic_key(("t", "pair")))
        assert cached_statistic(("t", "pair"), produce) == 5
    assert calls == []


def test_with_the_cache_down_a_statistic_is_produced_once_per_process(app_factory):
    # Nothing listens on port 1: every cache call fails at once.
    down = app_factory(REDIS_URL="redis://127.0.0.1:1/0", CACHE_TYPE="RedisCache")
    produce, calls = _counter()
    for _ in range(3):
        with down.test_request_context():
            assert cached_statistic(("t", "count"), produce) == 1
    assert calls == [1]


def test_several_statistics_are_read_in_one_round_trip(app, monkeypatch):
    produced = []

    def produce(parts):
        produced.append(parts)
        return parts[1] * 10

    many = [("t", 1), ("t", 2), ("t", 3)]
    with app.test_request_context():
        assert cache_statistics.cached_statistics(many, produce) == [10, 20, 30]
    assert produced == many
    # Another process (a new catalog version here): what the cache holds is read in one
    # round trip, and nothing is produced again.
    bump_catalog_version()
    reads = []
    real = cache.get_many
    monkeypatch.setattr(cache, "get_many", lambda *keys: reads.append(keys) or real(*keys))
    with app.test_request_context():
        assert cache_statistics.cached_statistics(many, produce) == [10, 20, 30]
    assert produced == many
    assert [len(keys) for keys in reads if any(k.startswith("stat:") for k in keys)] == [3]
