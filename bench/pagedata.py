"""The page benchmark's database: loading the catalog (and ``--scale`` copies), the shop's
environment, the products and category the runs use, and ``--explain``'s EXPLAIN ANALYZE
of a cache miss's SQL (see :mod:`bench.pages`)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# --- the database -------------------------------------------------------------------------


def database_url(args) -> str:
    """The SQLAlchemy URL of the benchmark database."""
    name = args.db_name if args.scale == 1 else f"{args.db_name}_x{args.scale}"
    return f"{args.pg}/{name}".replace("postgresql://", "postgresql+psycopg://")


def _admin_engine(args):
    from sqlalchemy import create_engine

    return create_engine(
        f"{args.pg}/postgres".replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )


def product_count(url: str) -> int | None:
    """Active products in the database at ``url`` (None: no database or no schema)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM products WHERE status = 'active'")).scalar()
    except Exception:
        return None
    finally:
        engine.dispose()


def flask_cmd(env: dict, *argv: str) -> None:
    """Run ``flask <argv>`` against the benchmark database (raises on failure)."""
    flask = str(Path(sys.executable).with_name("flask"))
    subprocess.run([flask, *argv], cwd=ROOT, env={**os.environ, **env}, check=True)


def load_catalog(args, env: dict) -> None:
    """Create the database, migrate it, import the catalog and make ``--scale`` copies."""
    from sqlalchemy import create_engine, text

    name = database_url(args).rsplit("/", 1)[1]
    admin = _admin_engine(args)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    long_env = {**env, "DATABASE_STATEMENT_TIMEOUT": "0", "DATABASE_READ_TIMEOUT": "0"}
    flask_cmd(long_env, "db", "upgrade")
    flask_cmd(
        long_env,
        "shop",
        "import-catalog",
        str(args.catalog / "products.csv.gz"),
        "--attributes",
        str(args.catalog / "products_full_part1.jsonl.gz"),
        "--attributes",
        str(args.catalog / "products_full_part2.jsonl.gz"),
    )
    if args.scale > 1:
        engine = create_engine(database_url(args))
        with engine.begin() as conn:
            cols = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = 'products' AND column_name NOT IN ('id', 'sku', 'slug')"
                    )
                )
            ]
            listed = ", ".join(cols)
            for copy in range(1, args.scale):
                t0 = time.perf_counter()
                conn.execute(
                    text(
                        f"INSERT INTO products (sku, slug, {listed}) "
                        f"SELECT sku || '-x{copy}', slug || '-x{copy}', {listed} FROM products "
                        "WHERE sku NOT LIKE '%-x%'"
                    )
                )
                print(f"copy {copy} of the catalog in {time.perf_counter() - t0:.1f}s", flush=True)
            # The ledger agrees with the copies' stock (flask shop check-stock).
            conn.execute(
                text(
                    "INSERT INTO stock_movements (product_id, delta, reason, note, created_at) "
                    "SELECT id, stock, 'import', 'benchmark copy', now() FROM products "
                    "WHERE sku LIKE '%-x%' AND stock <> 0"
                )
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        engine.dispose()


def shop_env(args) -> dict:
    """The shop's environment for the benchmark (development config, rate limits off)."""
    return {
        "SHOP_CONFIG": "development",
        "DATABASE_URL": database_url(args),
        "REDIS_URL": args.redis,
        "SECRET_KEY": "bench-" + "k" * 40,
        "RATELIMIT_ENABLED": "false",
        "MAIL_BACKEND": "memory",
        "CACHE_KEY_PREFIX": "benchpages:",
        "FLASK_APP": "wsgi",
    }


def flush_redis(url: str) -> None:
    """Empty the benchmark's Redis database."""
    import redis

    redis.Redis.from_url(url).flushdb()


def pick_targets(env: dict) -> dict:
    """Slugs and SKUs the runs use, read from the database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        # The biggest top-level category (its page lists all its leaves).
        category = conn.execute(
            text(
                "SELECT c.slug FROM categories c JOIN categories k ON k.parent_id = c.id "
                "JOIN products p ON p.category_id = k.id WHERE p.status = 'active' "
                "GROUP BY c.slug ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar()
        rows = conn.execute(
            text(
                "SELECT slug, sku, stock FROM products WHERE status = 'active' AND stock >= 20 "
                "ORDER BY name, id LIMIT 200"
            )
        ).all()
        slugs = [r[0] for r in conn.execute(text("SELECT slug FROM products WHERE status = 'active'"))]
    engine.dispose()
    product = rows[0]
    rng = random.Random(16)
    unseen = [s for s in slugs if s != product.slug]
    rng.shuffle(unseen)
    return {
        "category": category,
        "product_slug": product.slug,
        "cart_sku": rows[1].sku,
        # Sold during --sales: products on the first listing pages, never the benchmarked one.
        "sale_skus": [r.sku for r in rows[2:]],
        "unseen": unseen,
    }


# --- EXPLAIN ANALYZE ----------------------------------------------------------------------


def explain(env: dict) -> list[dict]:
    """EXPLAIN ANALYZE of the SQL a cache miss runs: ``[{"what", "ms", "statements"}]``.

    The statements are captured from the shop's own services (so the figures follow the
    code), then each is run again under ``EXPLAIN (ANALYZE, FORMAT JSON)``; ``ms`` is the
    sum of their execution times (planning excluded).
    """
    os.environ.update(env)
    from sqlalchemy import event, text

    from shop import create_app
    from shop.catalog import services
    from shop.catalog.schemas import SORTS
    from shop.extensions import db

    app = create_app("development")
    out = []
    with app.test_request_context():
        category = pick_targets(env)["category"]
        info = services.category_info(category)
        ids = tuple(info["ids"])
        work = [("navigation counts (category tree)", services.category_tree)]
        for sort in SORTS:
            filters = services.ProductFilters(sort=sort)
            work.append((f"/products sort={sort}", lambda f=filters: services.list_products(f)))
        for sort in SORTS:
            filters = services.ProductFilters(category_ids=ids, sort=sort)
            work.append((f"/c/{category} sort={sort}", lambda f=filters: services.list_products(f)))
        work.append(
            (f"/c/{category} page 50", lambda: services.list_products(services.ProductFilters(ids, page=50)))
        )
        work.append(("brand filter list (all products)", lambda: services.brand_counts(None)))
        work.append((f"brand filter list (/c/{category})", lambda: services.brand_counts(ids)))
        for what, fn in work:
            captured = []

            def capture(conn, cursor, statement, parameters, context, executemany, captured=captured):
                if statement.lstrip().upper().startswith("SELECT"):
                    captured.append((statement, parameters))

            engine = db.engine
            event.listen(engine, "before_cursor_execute", capture)
            try:
                fn()
            finally:
                event.remove(engine, "before_cursor_execute", capture)
            times = []
            raw = db.session.connection().connection.dbapi_connection
            for statement, parameters in captured:
                with raw.cursor() as cur:
                    cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
                    plan = cur.fetchone()[0]
                times.append(plan[0]["Execution Time"])
            total = sum(times)
            out.append({"what": what, "ms": round(total, 2), "statement_ms": [round(t, 2) for t in times]})
            each = " + ".join(f"{t:.2f}" for t in times)
            print(f"{what:<40} {total:8.2f} ms  ({each})", flush=True)
        db.session.execute(text("SELECT 1"))
    return out
