"""Fault drill: the shop under gunicorn and concurrent clients while Redis and PostgreSQL fail.

It creates a scratch PostgreSQL database (or a SQLite file with ``--sqlite``), seeds a
product and one shopper per client, starts a private redis-server, puts a fault proxy
between the app and Redis and between the app and PostgreSQL, and starts
``gunicorn -c gunicorn.conf.py wsgi:app`` with production settings. Client threads browse,
log in (API tokens) and place orders throughout, while the drill runs each fault in three
phases (before, during, after):

    Redis refused, Redis hung, PostgreSQL refused, PostgreSQL hung, a worker killed (kill -9)

and prints the answers of each phase by status (``timeout``: no answer within 20 s;
``reset``: the connection was cut), the slowest request of each phase, and then whether
every order placed was told to its client and stock equals the ledger.

    python bench/faults.py                    # PostgreSQL at 127.0.0.1:5432
    python bench/faults.py --sqlite           # no PostgreSQL (its faults are skipped)
    python bench/faults.py --faults pg-hung --during 20   # past DATABASE_READ_TIMEOUT (15 s)
    python bench/faults.py --set REDIS_SOCKET_TIMEOUT=2   # another setting for gunicorn

Orders that got no definite answer (cut, timed out, 503) are sent again with their
``Idempotency-Key`` at the end, as the API asks of clients, before orders are counted.

Exit status 1 when an answer was a 500 or the orders or stock do not add up.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faultproxy import FaultProxy, RedisServer  # noqa: E402
from tests.liveshop import LiveShop, seed, shop_env  # noqa: E402
from tests.shopload import ShopLoad, check_orders, reconcile_orders, run_fault  # noqa: E402

#: Fault names for ``--faults`` and their labels in the table.
FAULTS = {
    "redis-refused": "Redis refused",
    "redis-hung": "Redis hung",
    "pg-refused": "PostgreSQL refused",
    "pg-hung": "PostgreSQL hung",
    "worker-kill": "worker kill -9",
}


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    ap.add_argument("--db-name", default="shop_bench_faults")
    ap.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    ap.add_argument("--before", type=float, default=2.0, help="seconds before each fault (default 2)")
    ap.add_argument("--during", type=float, default=4.0, help="seconds of each fault (default 4)")
    ap.add_argument("--after", type=float, default=3.0, help="seconds after each fault (default 3)")
    ap.add_argument("--app-dir", default=str(ROOT), help="checkout to serve (default: this one)")
    ap.add_argument(
        "--faults",
        default=",".join(FAULTS),
        help=f"comma-separated, in order (default: all of {', '.join(FAULTS)})",
    )
    ap.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="an environment setting for gunicorn"
    )
    ap.add_argument("--json", action="store_true", help="print the counts as JSON too")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    return ap.parse_args(argv)


def _admin_engine(server_url: str):
    from sqlalchemy import create_engine

    url = f"{server_url}/postgres".replace("postgresql://", "postgresql+psycopg://")
    return create_engine(url, isolation_level="AUTOCOMMIT")


def create_database(args, workdir: str) -> str:
    """(Re)create the scratch database with the schema; return its SQLAlchemy URL."""
    from sqlalchemy import create_engine, text

    import shop.models  # noqa: F401  (register tables)
    from shop.extensions import db
    from shop.search import schema as search_schema

    if args.sqlite:
        url = f"sqlite:///{workdir}/faults.db"
    else:
        admin = _admin_engine(args.pg)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{args.db_name}"'))
        admin.dispose()
        url = f"{args.pg}/{args.db_name}".replace("postgresql://", "postgresql+psycopg://")
    engine = create_engine(url)
    with engine.begin() as conn:
        db.metadata.create_all(conn)
        search_schema.install(conn)
    engine.dispose()
    return url


def bench_app(database_url: str):
    """An app on the scratch database with test-cheap password hashing (for seeding and
    checking; gunicorn runs its own, with production settings)."""
    from config import TestingConfig
    from shop import create_app

    return create_app(
        type("FaultBenchConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": ""})
    )


def main(argv=None) -> int:
    """Run the drill and print the table; exit 1 if a 500 was answered or orders or stock
    do not add up."""
    args = parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="shop-faults-")
    database_url = create_database(args, workdir)
    app = bench_app(database_url)
    with app.app_context():
        data = seed(args.clients)

    from sqlalchemy.engine import make_url

    redis_server = RedisServer(workdir).start()
    redis_proxy = FaultProxy(redis_server.socket_path).start()
    pg_proxy = None
    served_url = make_url(database_url)
    if not args.sqlite:
        pg_proxy = FaultProxy((served_url.host or "127.0.0.1", served_url.port or 5432)).start()
        served_url = served_url.set(host="127.0.0.1", port=pg_proxy.port)
    env = shop_env(
        served_url.render_as_string(hide_password=False), f"redis://127.0.0.1:{redis_proxy.port}/0"
    )
    env.update(item.split("=", 1) for item in args.set)
    log_path = Path(workdir) / "gunicorn.log"
    shop = LiveShop(env, workers=args.workers, log_path=log_path, app_dir=args.app_dir).start()
    load = ShopLoad(shop.base_url, data, threads=args.clients).start()

    actions = {
        "redis-refused": (redis_proxy.refuse, redis_proxy.restore),
        "redis-hung": (redis_proxy.hang, redis_proxy.restore),
        "worker-kill": (shop.kill_worker, lambda: None),
    }
    if pg_proxy is not None:
        actions["pg-refused"] = (pg_proxy.refuse, pg_proxy.restore)
        actions["pg-hung"] = (pg_proxy.hang, pg_proxy.restore)
    faults = [(FAULTS[name], *actions[name]) for name in args.faults.split(",") if name in actions]

    reports = []
    try:
        for name, inject, restore in faults:
            report = run_fault(load, name, inject, restore, args.before, args.during, args.after)
            reports.append(report)
            print(report.table(), flush=True)
        load.stop()
        retried = reconcile_orders(load)
        with app.app_context():
            state = check_orders(load, data)
    finally:
        load.stop()
        shop.stop()
        redis_proxy.stop()
        if pg_proxy is not None:
            pg_proxy.stop()
        redis_server.stop()

    errors_500 = sum(r.counts[p].get(500, 0) for r in reports for p in r.counts)
    ok = errors_500 == 0 and not state["untold"] and state["stock"] == state["expected_stock"]
    ok = ok and not state["ledger_mismatches"]
    print(
        f"\nunsure order answers retried with their Idempotency-Key: {len(retried)} "
        f"({sum(o.replayed for o in retried)} had been placed)"
    )
    print(
        f"orders placed: {state['orders_in_db']}, all told to their client: {not state['untold']}; "
        f"stock {state['stock']} (expected {state['expected_stock']}), "
        f"equal to the ledger: {not state['ledger_mismatches']}; 500s: {errors_500}"
    )
    print(f"gunicorn log: {log_path}")
    if args.json:
        print(
            json.dumps(
                {r.name: {p: {str(k): v for k, v in c.items()} for p, c in r.counts.items()} for r in reports}
            )
        )
    if not args.sqlite and not args.keep:
        with app.app_context():
            from shop.extensions import db

            db.engine.dispose()
        admin = _admin_engine(args.pg)
        from sqlalchemy import text

        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)'))
        admin.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    start = time.monotonic()
    status = main()
    print(f"drill took {time.monotonic() - start:.0f} s")
    sys.exit(status)
