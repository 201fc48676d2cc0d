"""Password-reset timing: does ``POST /auth/reset`` take as long for an address with an
account as for one without?

It builds a scratch SQLite shop with one account, serves it (``flask run`` in development,
or ``--server gunicorn``), and posts the reset form ``--rounds`` times for the known and the
unknown address, interleaved, timing each answer at the client. It reports the status codes
and the median and 10th-90th percentile of each, then waits for the mails (one per known
request) to appear. Without ``--redis`` jobs run in the web process after the response;
with ``--redis URL`` a ``flask shop worker`` is started beside the server.

    python bench/reset_timing.py --rounds 200
    python bench/reset_timing.py --server gunicorn --redis redis://127.0.0.1:6379/4

Goal (not a timed test): the two distributions overlap (medians within a millisecond or so)
and the statuses are the same; every known request gets exactly one mail.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KNOWN, UNKNOWN = "known@example.com", "nobody@example.com"


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=200, help="requests per address (default 200)")
    ap.add_argument("--server", choices=("flask", "gunicorn"), default="flask")
    ap.add_argument("--port", type=int, default=8766)
    ap.add_argument("--redis", default="", help="Redis URL: queue jobs there and run a worker")
    return ap.parse_args(argv)


def seed(env: dict) -> None:
    """Create the schema and the one account."""
    os.environ.update(env)
    from shop import create_app
    from shop.auth import services
    from shop.extensions import db
    from shop.search import schema as search_schema

    app = create_app("development")
    with app.app_context():
        import shop.models  # noqa: F401

        with db.engine.begin() as conn:
            db.metadata.create_all(conn)
            search_schema.install(conn)
        services.register_user(KNOWN, "bench password 123")
        db.session.commit()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def wait_up(url: str, timeout: float = 30) -> None:
    """Wait until the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:  # refused, reset or timed out while it starts
            time.sleep(0.2)
    raise SystemExit(f"server did not start at {url}")


def measure(base: str, rounds: int) -> dict[str, list[tuple[int, float]]]:
    """``{address: [(status, seconds), ...]}`` for ``rounds`` interleaved reset requests."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    page = opener.open(base + "/auth/reset").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    results: dict[str, list[tuple[int, float]]] = {KNOWN: [], UNKNOWN: []}
    for i in range(rounds * 2):
        email = (KNOWN, UNKNOWN)[i % 2]
        body = urllib.parse.urlencode({"csrf_token": token, "email": email}).encode()
        start = time.perf_counter()
        try:
            resp = opener.open(base + "/auth/reset", data=body)
            status = resp.status
            resp.read()
        except urllib.error.HTTPError as exc:  # 302 (not followed) and errors land here
            status = exc.code
            exc.read()
        results[email].append((status, time.perf_counter() - start))
    return results


def report(results: dict[str, list[tuple[int, float]]]) -> None:
    """Print statuses and the time distribution per address."""
    for email, rows in results.items():
        ms = sorted(t * 1000 for _, t in rows)
        deciles = statistics.quantiles(ms, n=10)
        statuses = sorted({s for s, _ in rows})
        print(
            f"{email:>20}: statuses {statuses}  median {statistics.median(ms):.2f} ms  "
            f"p10-p90 {deciles[0]:.2f}-{deciles[-1]:.2f} ms  min-max {ms[0]:.2f}-{ms[-1]:.2f} ms"
        )


def main(argv=None) -> int:
    """Run the benchmark; exit 1 if statuses differ or mails are missing or doubled."""
    args = parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="shop-reset-bench-"))
    env = {
        "SHOP_CONFIG": "development",
        "FLASK_APP": "wsgi",
        "DATABASE_URL": f"sqlite:///{scratch / 'shop.db'}",
        "REDIS_URL": args.redis,
        "MAIL_BACKEND": "file",
        "MAIL_OUTBOX_DIR": str(scratch / "mail"),
        "RATELIMIT_ENABLED": "false",
        "CACHE_KEY_PREFIX": f"resetbench{os.getpid()}:",
    }
    seed(env)
    server_env = dict(os.environ, **env)
    if args.server == "flask":
        cmd = [sys.executable, "-m", "flask", "run", "--port", str(args.port), "--no-reload"]
    else:
        cmd = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{args.port}", "wsgi:app"]
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ]
    if args.redis:
        worker = [sys.executable, "-m", "flask", "shop", "worker"]
        procs.append(
            subprocess.Popen(
                worker, cwd=ROOT, env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
    try:
        base = f"http://127.0.0.1:{args.port}"
        wait_up(base + "/healthz")
        results = measure(base, args.rounds)
        report(results)
        deadline = time.monotonic() + 30
        while len(list((scratch / "mail").glob("*.eml"))) < args.rounds and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        mails = list((scratch / "mail").glob("*.eml"))
        print(f"mails: {len(mails)} for {args.rounds} requests for the known address")
        same = {s for s, _ in results[KNOWN]} == {s for s, _ in results[UNKNOWN]}
        return 0 if same and len(mails) == args.rounds else 1
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    raise SystemExit(main())
