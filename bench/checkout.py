"""Checkout load test: concurrent ``POST /api/v1/orders`` against gunicorn on PostgreSQL + Redis.

It creates a scratch PostgreSQL database, seeds one product with ``--stock`` units and
``--requests`` shoppers (each with a bearer token and one unit in the cart), starts
``gunicorn -w 4 wsgi:app`` on the loopback interface with rate limits off, fires the
checkouts from ``--concurrency`` client threads, and reports orders per second, latency,
the status counts, and whether stock and the ledger agree. Expected: ``min(stock,
requests)`` orders (201), the rest 409, no 5xx, stock = initial - sold = ledger.

    python bench/checkout.py --stock 100 --requests 300 --concurrency 16

Needs PostgreSQL (``--pg``, default ``postgresql://postgres@127.0.0.1:5432``) and Redis
(``--redis``). The scratch database is dropped afterwards unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.liveshop import children_cpu_seconds  # noqa: E402  (after the path is set)

ADDRESS = {
    "name": "Bench Shopper",
    "line1": "1 Load St",
    "city": "Benchville",
    "region": "NY",
    "postal_code": "10001",
    "country": "US",
}


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stock", type=int, default=100, help="units of the product (default 100)")
    ap.add_argument(
        "--requests", type=int, default=300, help="checkouts to fire, one shopper each (default 300)"
    )
    ap.add_argument("--concurrency", type=int, default=16, help="client threads (default 16, max 64)")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    ap.add_argument("--db-name", default="shop_bench_checkout")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/4")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = ap.parse_args(argv)
    args.concurrency = max(1, min(args.concurrency, 64))
    return args


def create_database(server_url: str, name: str) -> str:
    """(Re)create an empty database; return its SQLAlchemy URL."""
    from sqlalchemy import create_engine, text

    admin = create_engine(
        f"{server_url}/postgres".replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server_url}/{name}".replace("postgresql://", "postgresql+psycopg://")


def drop_database(server_url: str, name: str) -> None:
    """Drop the scratch database."""
    from sqlalchemy import create_engine, text

    admin = create_engine(
        f"{server_url}/postgres".replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def seed(env: dict, stock: int, shoppers: int) -> tuple[str, list[str]]:
    """Create the schema, the product and the shoppers (tokens, carts). Returns (sku, tokens)."""
    os.environ.update(env)
    from shop import create_app
    from shop.auth import services as auth_services
    from shop.auth.models import User
    from shop.catalog.models import Product, StockMovement
    from shop.extensions import db
    from shop.orders import cart as carts
    from shop.search import index as search_index

    app = create_app("development")
    with app.app_context():
        import shop.models  # noqa: F401

        with db.engine.begin() as conn:
            db.metadata.create_all(conn)
            search_index.install(conn)
        product = Product(
            sku="BENCH-1",
            slug="bench-item",
            name="Bench item",
            brand="Bench",
            price_cents=1999,
            stock=stock,
            status="active",
        )
        db.session.add(product)
        db.session.flush()
        db.session.add(StockMovement(product_id=product.id, delta=stock, reason="import"))
        # One password hash shared by all shoppers: hashing is not what this measures.
        pw_hash = auth_services.hash_password("bench password 123")
        tokens = []
        for i in range(shoppers):
            user = User(email=f"bench{i}@example.com", name=f"Bench {i}", password_hash=pw_hash)
            db.session.add(user)
            db.session.flush()
            carts.add_item(carts.get_user_cart(user.id, create=True), product.sku, 1)
            tokens.append(auth_services.create_api_token(user, scopes=["orders"])[1])
        db.session.commit()
        return product.sku, tokens


def verify(env: dict) -> dict:
    """Orders, stock and ledger after the run."""
    from sqlalchemy import func, select

    from shop import create_app
    from shop.catalog.models import Product
    from shop.catalog.stock import ledger_mismatches
    from shop.extensions import db
    from shop.orders.models import Order

    os.environ.update(env)
    app = create_app("development")
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.sku == "BENCH-1"))
        out = {
            "orders": db.session.scalar(select(func.count(Order.id))),
            "stock_left": product.stock,
            "ledger_mismatches": ledger_mismatches(),
        }
        db.engine.dispose()
        return out


def start_gunicorn(env: dict, port: int, workers: int) -> subprocess.Popen:
    """Start gunicorn on 127.0.0.1 and wait until /healthz answers."""
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [gunicorn, "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
    proc.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


def checkout(port: int, token: str) -> tuple[int, float]:
    """POST one order; return (status, seconds)."""
    body = json.dumps({"shipping_address": ADDRESS}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/orders",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0  # connection failed
    return status, time.perf_counter() - start


def main(argv=None) -> int:
    """Run the benchmark and print the report; exit 1 if the invariants do not hold."""
    args = parse_args(argv)
    db_url = create_database(args.pg, args.db_name)
    env = {
        "DATABASE_URL": db_url,
        "REDIS_URL": args.redis,
        "RATELIMIT_ENABLED": "false",
        "SHOP_CONFIG": "development",
        "MAIL_BACKEND": "memory",
        "CACHE_KEY_PREFIX": "benchcheckout:",
    }
    proc = None
    try:
        t0 = time.perf_counter()
        _sku, tokens = seed(env, args.stock, args.requests)
        print(
            f"seeded {args.requests} shoppers and 1 product with {args.stock} units "
            f"in {time.perf_counter() - t0:.1f}s"
        )
        proc = start_gunicorn(env, args.port, args.workers)
        cpu0 = children_cpu_seconds(proc.pid)
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            results = list(pool.map(lambda tok: checkout(args.port, tok), tokens))
        elapsed = time.perf_counter() - start
        cpu = children_cpu_seconds(proc.pid) - cpu0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    state = verify(env)
    codes = Counter(status for status, _ in results)
    latencies = sorted(sec for _, sec in results)
    sold = codes.get(201, 0)
    expected_sold = min(args.stock, args.requests)
    ok = (
        sold == expected_sold == state["orders"]
        and state["stock_left"] == args.stock - sold
        and not state["ledger_mismatches"]
        and set(codes) <= {201, 409}
    )
    report = {
        "workers": args.workers,
        "concurrency": args.concurrency,
        "requests": args.requests,
        "initial_stock": args.stock,
        "elapsed_s": round(elapsed, 2),
        "requests_per_s": round(len(results) / elapsed, 1),
        "orders_per_s": round(sold / elapsed, 1),
        # CPU the app spent per request against the wall time a worker held it: the rest
        # is waiting (PostgreSQL, Redis, the hot product row's lock).
        "worker_cpu_ms_per_request": round(cpu * 1000 / max(1, len(results)), 1),
        "worker_wall_ms_per_request": round(elapsed * args.workers * 1000 / max(1, len(results)), 1),
        "latency_ms": {
            "p50": round(statistics.median(latencies) * 1000, 1),
            "p95": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1),
            "max": round(latencies[-1] * 1000, 1),
        },
        "status_counts": {str(k): v for k, v in sorted(codes.items())},
        "orders_in_db": state["orders"],
        "stock_left": state["stock_left"],
        "stock_matches_ledger": not state["ledger_mismatches"],
        "ok": ok,
    }
    print(json.dumps(report, indent=2))
    if not args.keep:
        drop_database(args.pg, args.db_name)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
