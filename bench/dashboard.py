"""Staff dashboard benchmark: the sales queries and the whole ``GET /admin/`` page over
100,000 orders, on SQLite or PostgreSQL.

It (re)creates the shop's tables in the database given by ``--db`` (everything in it is
dropped: give a scratch database), adds the indexes of migration 0012, and bulk-inserts
``--products`` products in a small category tree and ``--orders`` orders (one to three lines
each, spread evenly over the last ``--days`` days, a realistic mix of statuses, refunds on
the refunded ones, a few needing attention). Then, in process, it times
:func:`shop.admin.sales_report.sales_dashboard` and the page through the Flask test client (as a
signed-in staff user) for the last 7, 30 and 90 days and a custom 365-day range: one
warm-up, then ``--rounds`` runs each, reporting p50 and p95 in milliseconds.

    python bench/dashboard.py --db postgresql://postgres@127.0.0.1:5432/shop_dash_bench
    python bench/dashboard.py --db sqlite:///dash_bench.db --timezone Europe/Berlin

Goal (not a timed test): the page under 200 ms at 100,000 orders. The figures of finished
days are cached (:mod:`shop.admin.sales_report`), so each period is measured twice: *cold*,
with the cache emptied first (the first view after a change to one of its finished days), and
*warm*.
``--reuse`` skips seeding when the database already holds the orders (to measure again).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: (status, share of orders); the rest of the shop's statuses do not occur.
STATUS_MIX = [
    ("pending_payment", 0.04),
    ("cancelled", 0.07),
    ("paid", 0.06),
    ("shipped", 0.10),
    ("delivered", 0.66),
    ("partially_refunded", 0.04),
    ("refunded", 0.03),
]
ADDRESS = {
    "name": "Bench Shopper",
    "line1": "1 Load St",
    "city": "Benchville",
    "postal_code": "10001",
    "country": "US",
}


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", default=f"sqlite:///{Path(tempfile.gettempdir()) / 'shop_dash_bench.db'}")
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--products", type=int, default=2_000)
    ap.add_argument("--days", type=int, default=365, help="orders spread over this many days (default 365)")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--timezone", default="America/New_York", help="SHOP_TIMEZONE for the run")
    ap.add_argument("--reuse", action="store_true", help="keep the data if the orders are there")
    return ap.parse_args(argv)


def _ensure_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` if it does not exist (SQLite makes its file)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from config import normalize_database_url

    parsed = make_url(normalize_database_url(url))
    if parsed.get_backend_name() != "postgresql":
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        ).first():
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def _app(url: str, tz: str):
    """An app on ``url`` with rate limits off, an in-process cache and ``SHOP_TIMEZONE``."""
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
            "TESTING": True,
            "SHOP_TIMEZONE": tz,
        },
    )
    return create_app(cfg)


def _dashboard_indexes():
    """The migration's indexes: ``[(name, table, columns, where or None)]``."""
    import importlib.util

    path = ROOT / "migrations" / "versions" / "0015_dashboard_indexes.py"
    spec = importlib.util.spec_from_file_location("dashboard_indexes", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    name, table, columns = module.ATTENTION_INDEX
    return [(*ix, None) for ix in module.INDEXES] + [(name, table, columns, module.ATTENTION_WHERE)]


def _insert(table, rows: list[dict], chunk: int = 5_000) -> None:
    """Bulk insert ``rows`` into ``table`` in chunks (one executemany each)."""
    from shop.extensions import db

    for i in range(0, len(rows), chunk):
        db.session.execute(table.insert(), rows[i : i + chunk])


def _create_schema(conn) -> None:
    """Drop everything, create the shop's tables and the migration's dashboard indexes."""
    from sqlalchemy import Index, text

    import shop.models  # noqa: F401
    from shop.extensions import db

    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    else:
        db.metadata.drop_all(conn)
    db.metadata.create_all(conn)
    for name, table, columns, where in _dashboard_indexes():
        cols = [db.metadata.tables[table].c[c] for c in columns]
        partial = {"sqlite_where": text(where), "postgresql_where": text(where)} if where else {}
        Index(name, *cols, **partial).create(conn)


def _catalog_rows(rng: random.Random, count: int, now: datetime) -> tuple[list[dict], list[dict]]:
    """``(categories, products)``: 5 departments of 4 leaves, ``count`` active products."""
    cats = []
    for top in range(5):
        cats.append({"id": len(cats) + 1, "parent_id": None, "name": f"Dept {top}", "slug": f"dept-{top}"})
        parent = len(cats)
        for leaf in range(4):
            n = len(cats) + 1
            cats.append(
                {"id": n, "parent_id": parent, "name": f"Leaf {top}.{leaf}", "slug": f"leaf-{top}-{leaf}"}
            )
    leaves = [c["id"] for c in cats if c["parent_id"]]
    products = [
        {
            "id": i,
            "sku": f"B{i:06d}",
            "slug": f"bench-{i}",
            "name": f"Bench product {i}",
            "category_id": rng.choice(leaves),
            "price_cents": rng.randint(500, 150_000),
            "stock": rng.choice([0, 2, 5, 10, 50, 200, 1000]),
            "status": "active",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(1, count + 1)
    ]
    return cats, products


def _order_rows(rng: random.Random, args, products: list[dict], now: datetime):
    """``(orders, lines, refunds)`` rows: ``args.orders`` orders over ``args.days`` days."""
    statuses, weights = zip(*STATUS_MIX)
    orders, lines, refunds = [], [], []
    span = args.days * 86_400
    for oid in range(1, args.orders + 1):
        status = rng.choices(statuses, weights)[0]
        created = now - timedelta(seconds=rng.randrange(span))
        subtotal = 0
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            p = products[rng.randrange(len(products))]
            qty = rng.choice((1, 1, 1, 2, 3))
            lines.append(
                {
                    "order_id": oid,
                    "product_id": p["id"],
                    "sku": p["sku"],
                    "name": p["name"],
                    "unit_price_cents": p["price_cents"],
                    "quantity": qty,
                    "discount_cents": 0,
                }
            )
            subtotal += p["price_cents"] * qty
        total = subtotal + 995
        orders.append(
            {
                "id": oid,
                "number": f"BN{oid:010d}",
                "email": f"shopper{oid % 5000}@example.com",
                "status": status,
                "currency": "USD",
                "subtotal_cents": subtotal,
                "shipping_cents": 995,
                "total_cents": total,
                "attention": "Payment arrived after cancellation." if rng.random() < 0.001 else "",
                "shipping_address": ADDRESS,
                "payment_provider": "manual",
                "created_at": created,
                "updated_at": created,
            }
        )
        if status in ("refunded", "partially_refunded"):
            amount = total if status == "refunded" else total // 2
            refunds.append(
                {
                    "order_id": oid,
                    "amount_cents": amount,
                    "currency": "USD",
                    "status": "succeeded",
                    "lines": [],
                }
            )
    return orders, lines, refunds


def seed(app, args) -> None:
    """Create the tables and indexes, then bulk-insert categories, products and orders."""
    from sqlalchemy import func, select, text

    import shop.models  # noqa: F401
    from shop.catalog.models import Category, Product
    from shop.extensions import db
    from shop.orders.models import Order, OrderLine
    from shop.payments.models import Refund

    rng = random.Random(20261130)
    with app.app_context():
        if args.reuse:
            try:
                if db.session.scalar(select(func.count(Order.id))) >= args.orders:
                    print("  reusing the orders already there", flush=True)
                    db.metadata.create_all(db.engine)  # tables added since the seeding
                    return
            except Exception:
                db.session.rollback()
        t0 = time.perf_counter()
        with db.engine.begin() as conn:
            _create_schema(conn)
        now = datetime.now(timezone.utc)
        cats, products = _catalog_rows(rng, args.products, now)
        orders, lines, refunds = _order_rows(rng, args, products, now)
        for model, rows in (
            (Category, cats),
            (Product, products),
            (Order, orders),
            (OrderLine, lines),
            (Refund, refunds),
        ):
            _insert(model.__table__, rows)
        db.session.commit()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                for table in ("orders", "order_lines", "refunds", "products", "categories"):
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                        )
                    )
        # Fresh statistics and, on PostgreSQL, a visibility map, so that index-only scans are
        # possible at once (autovacuum does both on a live database).
        with db.engine.connect() as conn:
            vacuum = "VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text(vacuum))
        print(
            f"  seeded {len(orders)} orders, {len(lines)} lines, {len(refunds)} refunds, "
            f"{len(products)} products in {time.perf_counter() - t0:.1f}s",
            flush=True,
        )


def _p50_p95(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def measure(app, rounds: int) -> list[tuple[str, float, float, float, float]]:
    """``[(period, cold p50, p95, warm p50, p95, cold page p50, p95, warm page p50, p95)]`` in
    milliseconds: *cold* with the cache emptied first (the first view after a change to the
    period's finished days), *warm* with the finished days' figures cached."""
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from shop.admin import sales, sales_report
    from shop.auth import logins
    from shop.auth import services as auth_services
    from shop.auth.models import User
    from shop.extensions import cache, db

    tz = ZoneInfo(app.config["SHOP_TIMEZONE"])
    with app.app_context():
        email = "bench-staff@example.com"
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = auth_services.register_user(email, "bench staff password", role="staff")
            db.session.flush()
        secret = logins.start_login(user)
        db.session.commit()
        today = sales.today(tz)
        client = app.test_client()
        with client.session_transaction() as sess:
            sess["_user_id"], sess["_fresh"] = secret, True
        start365 = today - timedelta(days=364)
        cases = [
            ("7 days", sales.period_ending(today, 7, tz), "?period=7"),
            ("30 days", sales.period_ending(today, 30, tz), "?period=30"),
            ("90 days", sales.period_ending(today, 90, tz), "?period=90"),
            ("365 days", sales.period_ending(today, 365, tz), f"?period=custom&start={start365}&end={today}"),
        ]
        out = []
        for label, period, query in cases:
            times: dict[str, list[float]] = {"cold": [], "warm": [], "page_cold": [], "page_warm": []}
            for i in range(rounds + 1):
                for kind in ("cold", "warm", "page_cold", "page_warm"):
                    if kind.endswith("cold"):
                        cache.clear()  # as after a change to one of the period's days
                    db.session.remove()
                    t0 = time.perf_counter()
                    if kind.startswith("page"):
                        resp = client.get("/admin/" + query)
                        assert resp.status_code == 200, (resp.status_code, query)
                    else:
                        sales_report.sales_dashboard(period)
                    if i:  # the first run warms the connection pool
                        times[kind].append((time.perf_counter() - t0) * 1000)
            out.append((label, *(v for kind in times for v in _p50_p95(times[kind]))))
    return out


def main(argv=None) -> int:
    """Seed (unless reused), measure, print one line per period."""
    args = parse_args(argv)
    _ensure_database(args.db)
    app = _app(args.db, args.timezone)
    backend = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0].split("+")[0]
    print(f"{backend}: {args.orders} orders over {args.days} days, SHOP_TIMEZONE={args.timezone}", flush=True)
    seed(app, args)
    rows = measure(app, args.rounds)
    print(f"\n{backend}: {args.rounds} runs after a warm-up; milliseconds, p50 / p95")
    print("period       sales cold     sales warm     page cold      page warm")
    for label, *figures in rows:
        cells = [f"{figures[i]:6.1f} {figures[i + 1]:6.1f}" for i in range(0, 8, 2)]
        print(f"{label:<12} " + "  ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
