"""Page speed benchmark: the shop's pages and JSON next to a bare Flask "hello" app.

One run does the whole measurement:

1. loads the full catalog (19,406 products) into a PostgreSQL database of its own, or
   ``--scale N`` copies of it (``--scale 10``: 194,060 products); a database that already
   holds that many products is reused (``--reload`` loads it again);
2. starts the shop and a bare Flask app that answers "Hello, World!" under the same gunicorn
   settings (``gunicorn.conf.py``, ``--workers`` sync workers, worker recycling off so that
   start-up is not measured), on the loopback interface, with rate limits off;
3. for each of ``--rounds`` rounds runs ``wrk`` against hello, then against every endpoint,
   interleaved, so that each endpoint's ratio to hello compares runs minutes apart at most;
   every response must be a 2xx (counted by a wrk Lua script; any other status fails the run);
4. prints, per endpoint, the median over the rounds of its requests per second, its ratio to
   hello in the same round, and its worker CPU per request (user + system time of the gunicorn
   workers over the run, divided by the responses), then the workers' RSS after the runs.

Endpoints: ``/healthz``, a cached product's JSON, the product list JSON, the cached home,
category, listing and product pages and a repeated search (``/search?q=usb+cable``) for an
anonymous visitor, a product page never seen before (each request a different product, the
cache emptied first), and the same four pages for a signed-in customer with an item in the
cart.

``--sales R`` places about R orders a second through the API during all the runs (products
of the benchmarked listing pages, never the benchmarked product itself) and reports how
many were placed: the cached pages have to stay fast while stock changes.

``--explain`` prints EXPLAIN ANALYZE execution times for the database work of a cache miss
(the category page, ``/products`` in each sort order, the navigation counts, the brand
filter) at the loaded scale, and stops.

    python bench/pages.py                         # 19k products, 3 rounds of 5 s
    python bench/pages.py --rounds 5 --duration 8 # the settings of the original measurement
    python bench/pages.py --scale 10 --sales 5    # 194k products, orders placed meanwhile
    python bench/pages.py --scale 10 --explain

Needs PostgreSQL (``--pg``), Redis (``--redis``; the benchmark empties that database) and
Debian's ``wrk`` (``apt-get install wrk``). Machines with other load give noisy figures:
the ratios (same round) are steadier than the requests per second.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.pagedata import (  # noqa: E402  (after the path is set)
    explain,
    flask_cmd,
    flush_redis,
    load_catalog,
    pick_targets,
    product_count,
    shop_env,
)
from bench.pageservers import (  # noqa: E402
    Sales,
    Server,
    run_wrk,
    signed_in_customer,
)

#: Where the full catalog is looked for (``--catalog`` overrides): the shared data folder
#: beside the checkout, or one level further up.
CATALOG_CANDIDATES = [
    base / "shared" / "data" / "icecat_chorus" for base in (ROOT.parent, ROOT.parent.parent)
]
#: Products in the full catalog file (``--scale`` multiplies it).
FULL_CATALOG = 19_406


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=int, default=1, help="copies of the catalog (10: 194k products)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3; median reported)")
    ap.add_argument("--duration", type=int, default=5, help="seconds per wrk run (default 5)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn sync workers, both apps (default 2)")
    ap.add_argument("--only", default="", help="comma-separated endpoint names to run (default: all)")
    ap.add_argument("--sales", type=float, default=0.0, help="orders per second placed during the runs")
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of cache misses and stop")
    ap.add_argument("--reload", action="store_true", help="load the catalog again even if present")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    ap.add_argument("--db-name", default="shop_bench_pages", help="database name (scale appended)")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/7", help="Redis database (emptied)")
    ap.add_argument("--port", type=int, default=8771, help="shop port; hello uses the next one")
    ap.add_argument(
        "--catalog",
        type=Path,
        default=next((c for c in CATALOG_CANDIDATES if c.is_dir()), CATALOG_CANDIDATES[0]),
        help="folder with products.csv.gz and products_full_part*.jsonl.gz",
    )
    ap.add_argument("--json", dest="json_out", default="", help="also write the results to this file")
    return ap.parse_args(argv)


#: The repeated search the ``search`` endpoint asks for (a typical two-word query).
SEARCH_QUERY = "usb+cable"


def endpoints(targets: dict, cookie: str) -> list[dict]:
    """What the rounds measure: ``{"name", "path", "headers", "paths"}``."""
    slug, category = targets["product_slug"], targets["category"]
    anon = [
        ("healthz", "/healthz"),
        ("product_json", f"/api/v1/products/{slug}"),
        ("list_json", "/api/v1/products?per_page=20"),
        ("home", "/"),
        ("category", f"/c/{category}"),
        ("listing", "/products"),
        ("product_page", f"/p/{slug}"),
    ]
    out = [{"name": name, "path": path, "headers": (), "paths": False} for name, path in anon]
    # A repeated search (a popular query), answered as a whole cached page.
    out.append({"name": "search", "path": f"/search?q={SEARCH_QUERY}", "headers": (), "paths": False})
    out.append({"name": "product_page_unseen", "path": "/", "headers": (), "paths": True})
    for name, path in anon[3:]:
        out.append(
            {"name": name + "_customer", "path": path, "headers": (f"Cookie: {cookie}",), "paths": False}
        )
    return out


TARGETS = {
    "healthz": 0.9,
    "product_json": 0.6,
    "list_json": 0.5,
    "home": 0.5,
    "category": 0.5,
    "listing": 0.5,
    "product_page": 0.5,
    "search": 0.4,
    "product_page_unseen": 0.1,
    "home_customer": 0.25,
    "category_customer": 0.25,
    "listing_customer": 0.25,
    "product_page_customer": 0.25,
}


def measure(args, shop: Server, hello_server: Server, targets: dict, cookie: str) -> dict:
    """The interleaved rounds; returns per-endpoint lists of runs and the hello runs."""
    wanted = {n for n in args.only.split(",") if n}
    points = [e for e in endpoints(targets, cookie) if not wanted or e["name"] in wanted]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(f"/p/{s}" for s in targets["unseen"]) + "\n")
        unseen_file = f.name
    unseen_used = 0
    # Warm-up: fill the cache for the cached endpoints, and the workers' own state.
    for point in points:
        if not point["paths"]:
            run_wrk(args, shop.port, point["path"], 1, point["headers"])
    run_wrk(args, hello_server.port, "/", 1)
    results = {"hello": []}
    for round_no in range(args.rounds):
        for point in [{"name": "hello"}] + points:
            server = hello_server if point["name"] == "hello" else shop
            cpu0 = server.cpu_seconds()
            if point["name"] == "hello":
                run = run_wrk(args, server.port, "/", args.duration)
            elif point["paths"]:
                run = run_wrk(args, server.port, "/", args.duration, (), unseen_file, unseen_used)
                unseen_used += run["requests"] + args.connections
                run["wrapped"] = unseen_used > len(targets["unseen"])
            else:
                run = run_wrk(args, server.port, point["path"], args.duration, point["headers"])
            run["cpu_ms"] = (server.cpu_seconds() - cpu0) * 1000 / max(1, run["ok"] + run["bad"])
            run["round"] = round_no
            results.setdefault(point["name"], []).append(run)
            print(
                f"round {round_no + 1} {point['name']:<24} {run['rps']:>8.1f} req/s "
                f"{run['cpu_ms']:6.2f} ms CPU/req  non-2xx {run['bad']}"
                + (f"  socket errors: {run['errors']}" if run["errors"] else ""),
                flush=True,
            )
    os.unlink(unseen_file)
    return results


def summarize(results: dict) -> list[dict]:
    """Per endpoint: median rps, median ratio to hello in the same round, CPU per request."""
    hello_runs = results["hello"]
    rows = []
    for name, runs in results.items():
        ratios = [run["rps"] / hello_runs[run["round"]]["rps"] for run in runs]
        ratio = statistics.median(ratios)
        target = TARGETS.get(name)
        rows.append(
            {
                "endpoint": name,
                "rps": round(statistics.median(r["rps"] for r in runs), 1),
                "ratio": round(ratio, 3),
                "cpu_ms": round(statistics.median(r["cpu_ms"] for r in runs), 2),
                "non_2xx": sum(r["bad"] for r in runs),
                "socket_errors": [r["errors"] for r in runs if r["errors"]],
                "target": target,
                "met": None if target is None else ratio >= target,
                "wrapped": any(r.get("wrapped") for r in runs),
            }
        )
    return rows


def print_table(rows: list[dict]) -> None:
    """The results as a Markdown table."""
    print("\n| endpoint | req/s | ratio to hello | worker CPU per request | target | met |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        target = f">= {r['target']}" if r["target"] is not None else ""
        met = "" if r["met"] is None else ("yes" if r["met"] else "no")
        print(
            f"| {r['endpoint']} | {r['rps']} | {r['ratio']:.3f} | {r['cpu_ms']:.2f} ms | {target} | {met} |"
        )


# --- main ---------------------------------------------------------------------------------


def main(argv=None) -> int:
    """Load, measure, print; exit 1 if any response was not a 2xx."""
    args = parse_args(argv)
    env = shop_env(args)
    expected = FULL_CATALOG * args.scale
    count = None if args.reload else product_count(env["DATABASE_URL"])
    if count is None or count < expected * 0.95:
        t0 = time.perf_counter()
        load_catalog(args, env)
        print(f"catalog loaded in {time.perf_counter() - t0:.0f}s", flush=True)
    else:
        flask_cmd({**env, "DATABASE_STATEMENT_TIMEOUT": "0"}, "db", "upgrade")
    count = product_count(env["DATABASE_URL"])
    print(f"{count} active products in {env['DATABASE_URL'].rsplit('/', 1)[1]}", flush=True)
    if args.explain:
        explain(env)
        return 0
    flush_redis(args.redis)
    targets = pick_targets(env)
    shop = Server("shop", "wsgi:app", args.port, args.workers, env)
    hello_server = Server(
        "hello",
        "pageservers:hello",
        args.port + 1,
        args.workers,
        {"BENCH_PAGES_HELLO": "1"},
        ("--pythonpath", "bench"),
    )
    sales = None
    try:
        shop.wait("/healthz")
        hello_server.wait("/")
        cookie = signed_in_customer(args.port, targets["cart_sku"])
        if args.sales:
            sales = Sales(args.port, args.sales, targets["sale_skus"])
            sales.start()
        results = measure(args, shop, hello_server, targets, cookie)
        if sales:
            sales.stopping.set()
            sales.join()
        rows = summarize(results)
        print_table(rows)
        rss = {"shop": shop.rss_mb(), "hello": hello_server.rss_mb()}
        print(
            f"\nworker RSS after the runs: shop {', '.join(f'{m:.0f}' for m in rss['shop'])} MB; "
            f"hello {', '.join(f'{m:.0f}' for m in rss['hello'])} MB (target: shop <= 100 MB)"
        )
        if sales:
            print(f"orders placed during the runs: {sales.placed} (failed: {sales.failed or 'none'})")
        wrapped = [r["endpoint"] for r in rows if r["wrapped"]]
        if wrapped:
            print("note: the never-seen product pages ran out of products and repeated some")
        bad = sum(r["non_2xx"] for r in rows)
        print(
            f"{count} products, {args.rounds} rounds of {args.duration}s, wrk -t{args.threads} "
            f"-c{args.connections}, {args.workers} workers; non-2xx responses: {bad}"
        )
        if args.json_out:
            Path(args.json_out).write_text(
                json.dumps(
                    {"rows": rows, "rss_mb": rss, "products": count, "sales": sales.placed if sales else 0}
                )
            )
    finally:
        if sales:
            sales.stopping.set()
        shop.stop()
        hello_server.stop()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
