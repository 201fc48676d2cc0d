"""Search latency benchmark: p50/p95 server-side time of ``GET /api/v1/search`` for the
dev queries, on SQLite (FTS5) and PostgreSQL, at the real catalog's size and at ten times it.

For each backend it builds a scratch database (schema + search index), imports the real
catalog with the shop's importer, measures, then copies the catalog nine more times with
new SKUs (``INSERT ... SELECT``, indexed by the triggers like any write) and measures
again. Each query is requested ``--rounds`` times after one warm-up round, in process
through the Flask test client (facets included, rate limits off); the time is the
server's, from request to response body, and the worker's CPU time. Uncached (the result
cache off): every request searches; the first pass is reported on its own too, as there
every query meets empty statistics and token caches (what a query no one asked for lately
costs in a process just started). New to a warm worker: a process that has served
one half of the queries meets each query of the other half once (and the reverse), what
a query no one asked before costs a worker in service. Cached: a repeated query,
answered from the result cache. Last, the results page of each query from the result
cache against a bare Flask "hello" (requests a second).

    python bench/search.py --data ../shared/data/icecat_chorus --scales 1 10

Goals (not timed tests): at most 5 ms of worker CPU for a query seen for the first time;
p95 at most 15 ms at the real size and 40 ms at ten times it; a cached results page at
least 0.4 of a bare Flask hello.
PostgreSQL: ``--pg`` (default ``postgresql://postgres@127.0.0.1:5432``) with database
``--pg-db`` (dropped and created; default ``shop_search_bench``). ``--backends sqlite``
or ``postgresql`` runs one only.
"""

from __future__ import annotations

import argparse
import csv
import os
import runpy
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data",
        default=str(ROOT.parent / "shared" / "data" / "icecat_chorus"),
        help="Folder with products.csv.gz, products_full_part*.jsonl.gz, queries_dev.csv.",
    )
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 10], help="Catalog copies to measure at.")
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    ap.add_argument("--pg-db", default="shop_search_bench")
    return ap.parse_args(argv)


def _app(url: str):
    """An app on ``url`` with rate limits off, an in-process cache and no statement
    timeouts."""
    from config import Config, normalize_database_url
    from shop import create_app

    cfg = type(
        "BenchConfig",
        (Config,),
        {
            "SQLALCHEMY_DATABASE_URI": normalize_database_url(url),
            "RATELIMIT_ENABLED": False,
            "REDIS_URL": "",
            "CACHE_TYPE": "SimpleCache",
            # SimpleCache drops entries past 500 (Redis, in production, does not): the
            # stock stamps of every page's products alone would push the pages out.
            "CACHE_THRESHOLD": 1_000_000,
            "TESTING": True,
            # Growing the catalog is a long bulk statement (a maintenance command).
            "DATABASE_STATEMENT_TIMEOUT": 0,
            "DATABASE_READ_TIMEOUT": 0,
        },
    )
    app = create_app(cfg)
    # The garbage collector as a gunicorn worker has it once it has loaded the app.
    runpy.run_path(str(ROOT / "gunicorn.conf.py"))["post_worker_init"](None)
    return app


def _fresh_pg(args) -> str:
    """Drop and create the scratch PostgreSQL database; its URL."""
    import psycopg

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.pg_db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.pg_db}"')
    return f"{args.pg}/{args.pg_db}"


def _setup(app, data: Path) -> None:
    """Create the schema and the search index, then import the real catalog."""
    import shop.models  # noqa: F401
    from shop.catalog.importer import import_catalog
    from shop.extensions import db
    from shop.search import index

    with app.app_context():
        with db.engine.begin() as conn:
            db.metadata.create_all(conn)
            index.install(conn)
        t0 = time.perf_counter()
        parts = sorted(str(p) for p in data.glob("products_full_part*.jsonl.gz"))
        report = import_catalog(str(data / "products.csv.gz"), parts)
        db.session.commit()
        _analyze()
        print(f"  imported {report.imported} products in {time.perf_counter() - t0:.1f}s", flush=True)


def _analyze() -> None:
    """Tidy the index and refresh the planner statistics after a bulk load, as the
    import command does (:func:`shop.search.index.analyze`)."""
    from shop.extensions import db
    from shop.search import index

    db.session.commit()
    with db.engine.begin() as conn:
        index.analyze(conn)


def _grow(app, copy_no: int) -> None:
    """Add one more copy of the original catalog with new SKUs and slugs."""
    from sqlalchemy import text

    from shop.extensions import db

    cols = (
        "name, model, brand, category_id, description, attributes, product_type, ean, "
        "price_cents, stock, status, image_url, released_at, created_at, updated_at"
    )
    with app.app_context():
        db.session.execute(
            text(
                f"INSERT INTO products (sku, slug, {cols}) "
                f"SELECT sku || '-c{copy_no}', slug || '-c{copy_no}', {cols} FROM products "
                "WHERE sku NOT LIKE '%-c%'"
            )
        )
        db.session.commit()
        _analyze()


def _measure(app, queries: list[str], rounds: int, cached: bool) -> dict:
    """Server-side times of ``GET /api/v1/search`` for the queries, in ms.

    Uncached (the result cache off, every request searches): p50/p95 of ``rounds`` passes
    after a first pass, the first pass (every query new to the statistics and token
    caches) on its own, and the mean worker CPU per request (``time.process_time``).
    Cached: the same after one pass that fills the result cache (a repeated query).

    Returns:
        ``{"p50", "p95", "first_p50", "first_p95", "cpu", "first_cpu", "n"}``.
    """
    from sqlalchemy import func, select

    from shop.catalog.models import Product
    from shop.extensions import db

    app.config["SEARCH_RESULT_CACHE"] = cached
    client = app.test_client()
    times, first, cpu, first_cpu = [], [], [], []
    for r in range(rounds + 1):
        for q in queries:
            t0, c0 = time.perf_counter(), time.process_time()
            resp = client.get("/api/v1/search", query_string={"q": q})
            elapsed, used = time.perf_counter() - t0, time.process_time() - c0
            assert resp.status_code == 200, (q, resp.status_code)
            (times if r else first).append(elapsed * 1000)
            (cpu if r else first_cpu).append(used * 1000)
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(Product))
    p50, p95 = _p50_p95(times)
    f50, f95 = _p50_p95(first)
    return {
        "p50": p50,
        "p95": p95,
        "first_p50": f50,
        "first_p95": f95,
        "cpu": statistics.mean(cpu),
        "first_cpu": statistics.mean(first_cpu),
        "n": n,
    }


def _measure_unseen(app, queries: list[str], rounds: int) -> dict:
    """Server-side times of queries new to a worker that has been serving others: the
    process is started cold (:func:`_forget`), serves one half of the queries
    ``rounds`` times, then each query of the other half once (result cache off); then the
    same with the halves swapped, so that every query is measured once as a stranger.
    What a query no one asked before costs a worker in service, between the cold first
    pass and the repeated ones.

    Returns:
        ``{"p50", "p95", "cpu"}`` in ms.
    """
    app.config["SEARCH_RESULT_CACHE"] = False
    times, cpu = [], []
    for half in (0, 1):
        _forget(app)
        client = app.test_client()
        known = [q for i, q in enumerate(queries) if i % 2 != half]
        for _ in range(rounds):
            for q in known:
                assert client.get("/api/v1/search", query_string={"q": q}).status_code == 200, q
        for q in (q for i, q in enumerate(queries) if i % 2 == half and q not in known):
            t0, c0 = time.perf_counter(), time.process_time()
            resp = client.get("/api/v1/search", query_string={"q": q})
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            assert resp.status_code == 200, (q, resp.status_code)
    p50, p95 = _p50_p95(times)
    return {"p50": p50, "p95": p95, "cpu": statistics.mean(cpu)}


def _pages_per_second(client, paths: list[str], rounds: int) -> float:
    """Requests a second for ``paths`` through a test client, over ``rounds`` passes after
    one warm-up pass."""
    for path in paths:
        client.get(path)
    t0 = time.perf_counter()
    for _ in range(rounds):
        for path in paths:
            assert client.get(path).status_code == 200, path
    return rounds * len(paths) / (time.perf_counter() - t0)


def _page_ratio(app, queries: list[str], rounds: int) -> tuple[float, float]:
    """(results pages a second from the result cache, bare Flask hellos a second): the
    page benchmark's comparison, both in process through the test client."""
    from urllib.parse import quote

    from flask import Flask

    hello = Flask("hello")
    hello.add_url_rule("/", "hello", lambda: "Hello, World!")
    app.config["SEARCH_RESULT_CACHE"] = True
    pages = _pages_per_second(app.test_client(), [f"/search?q={quote(q)}" for q in queries], rounds)
    bare = _pages_per_second(hello.test_client(), ["/"] * len(queries), rounds)
    return pages, bare


def _forget(app) -> None:
    """Empty the cache (corpus statistics, catalog entries) and the token cache, so that
    each size is measured from a cold start and ranks with its own statistics."""
    from shop.extensions import cache
    from shop.search.ranking import forget_tokens

    with app.app_context():
        cache.clear()
    forget_tokens()


def _p50_p95(times: list[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank below) of ``times``."""
    times = sorted(times)
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def main(argv=None) -> int:
    """Run the benchmark and print one line per backend and size."""
    args = parse_args(argv)
    data = Path(args.data)
    with open(data / "queries_dev.csv", newline="", encoding="utf-8") as fh:
        queries = [row["query"] for row in csv.DictReader(fh)]
    results = []
    for backend in args.backends:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{os.path.join(tmp.name, 'bench.db')}" if backend == "sqlite" else _fresh_pg(args)
        print(f"{backend}: building", flush=True)
        app = _app(url)
        _setup(app, data)
        copies = 1
        for scale in sorted(args.scales):
            t0 = time.perf_counter()
            while copies < scale:
                _grow(app, copies)
                copies += 1
            if time.perf_counter() - t0 > 0.5:
                print(f"  grew to x{scale} in {time.perf_counter() - t0:.1f}s", flush=True)
            stranger = _measure_unseen(app, queries, args.rounds)
            _forget(app)
            fresh = _measure(app, queries, args.rounds, cached=False)
            hit = _measure(app, queries, args.rounds, cached=True)
            pages, bare = _page_ratio(app, queries, args.rounds)
            results.append((backend, fresh, hit, pages, bare, stranger))
            print(
                f"  {fresh['n']:>7} products: uncached p50 {fresh['p50']:6.1f} ms  p95 {fresh['p95']:6.1f} ms  "
                f"cpu {fresh['cpu']:5.1f} ms  (first pass: p50 {fresh['first_p50']:6.1f}  "
                f"p95 {fresh['first_p95']:6.1f}  cpu {fresh['first_cpu']:5.1f} ms)\n"
                f"                    cached p50 {hit['p50']:6.1f} ms  p95 {hit['p95']:6.1f} ms  "
                f"cpu {hit['cpu']:5.1f} ms;  cached results pages {pages:6.0f}/s = "
                f"{pages / bare:.2f} of a bare Flask hello ({bare:.0f}/s)\n"
                f"                    new to a warm worker p50 {stranger['p50']:6.1f} ms  "
                f"p95 {stranger['p95']:6.1f} ms  cpu {stranger['cpu']:5.1f} ms",
                flush=True,
            )
        tmp.cleanup()
    print(
        "\nbackend      products  uncached p50/p95 ms  cpu ms  first pass p50/p95 ms  cpu ms"
        "  new to warm worker p50/p95 ms  cpu ms  cached p50/p95 ms  page/hello"
    )
    for backend, fresh, hit, pages, bare, stranger in results:
        print(
            f"{backend:<12} {fresh['n']:>8} {fresh['p50']:9.1f} / {fresh['p95']:5.1f} {fresh['cpu']:7.1f}"
            f" {fresh['first_p50']:12.1f} / {fresh['first_p95']:5.1f} {fresh['first_cpu']:7.1f}"
            f" {stranger['p50']:20.1f} / {stranger['p95']:5.1f} {stranger['cpu']:7.1f}"
            f" {hit['p50']:10.1f} / {hit['p95']:4.1f} {pages / bare:9.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
