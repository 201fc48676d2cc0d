"""The shop under a live gunicorn with concurrent clients, for fault tests and ``bench/faults.py``.

- :class:`LiveShop` starts ``gunicorn -c gunicorn.conf.py wsgi:app`` from this checkout on a
  free loopback port with production settings, and stops it.
- :func:`seed` adds a product and shoppers (each with an API token) to the database.
- :class:`ShopLoad` runs client threads that browse, log in and place orders over HTTP,
  recording every request's outcome and timing.
- :func:`run_fault` runs one fault in three phases (before, during, after) and counts the
  outcomes of each phase; :func:`check_orders` reconciles orders and stock afterwards.

An outcome is an HTTP status, or ``"timeout"`` (no answer within the client's timeout),
``"reset"`` (the connection was cut) or ``"refused"``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDRESS = {
    "name": "Load Shopper",
    "line1": "1 Fault Lane",
    "city": "Proxyville",
    "postal_code": "10101",
    "country": "US",
}
SHOPPER_PASSWORD = "live shopper password"
#: A client gives up on a request after this many seconds: above the app's worst case with
#: the production settings (a hung database: 15 s read timeout, then a 3 s connect timeout),
#: below gunicorn's own limit (30 s).
CLIENT_TIMEOUT = 20.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shop_env(database_url: str, redis_url: str) -> dict:
    """Production settings for a live gunicorn on loopback: plain HTTP, mail kept in memory,
    rate limits on but high enough for one machine's clients."""
    return {
        "SHOP_CONFIG": "production",
        "SECRET_KEY": "live-fault-test-secret-key-0123456789abcdef",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "FORCE_HTTPS": "false",
        "MAIL_BACKEND": "memory",
        "RATELIMIT_ENABLED": "true",
        "API_RATE_LIMIT": "100000 per minute",
        "LOGIN_RATE_LIMIT": "100000 per minute",
        "LOGIN_IP_RATE_LIMIT": "100000 per minute",
        "CACHE_KEY_PREFIX": "live:",
        "PYTHONUNBUFFERED": "1",
    }


class LiveShop:
    """gunicorn serving the shop in ``app_dir`` (default: this checkout), configured by its
    ``gunicorn.conf.py`` and ``env``."""

    def __init__(
        self,
        env: dict,
        workers: int = 2,
        log_path: str | os.PathLike | None = None,
        app_dir: str | os.PathLike = ROOT,
    ):
        self.env = env
        self.workers = workers
        self.app_dir = Path(app_dir)
        self.log_path = Path(log_path) if log_path else None
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> LiveShop:
        """Start gunicorn and wait until every worker answers ``/healthz``.

        Raises:
            RuntimeError: gunicorn exited or did not answer within ``timeout`` seconds.
        """
        self.port = free_port()
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        cmd = [gunicorn, "-c", "gunicorn.conf.py", "-b", f"127.0.0.1:{self.port}", "-w", str(self.workers)]
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [*cmd, "wsgi:app"],
            cwd=self.app_dir,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=self._log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited during start-up:\n{self.log_tail()}")
            if len(self.worker_pids()) == self.workers and self._healthy():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.log_tail()}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        """Process ids of the master's current workers (children in ``/proc``)."""
        if self.proc is None:
            return []
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # Fields after the parenthesised command name: state, ppid, ...
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                pids.append(int(entry))
        return sorted(pids)

    def kill_worker(self) -> int:
        """``kill -9`` one worker (the master starts another); returns its pid."""
        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self, timeout: float = 40) -> int | None:
        """SIGTERM the master (a graceful stop) and wait; returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        return self.proc.returncode

    def log_tail(self, lines: int = 40) -> str:
        """The end of gunicorn's log (stdout and stderr), for failure messages."""
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


# --- data ---------------------------------------------------------------------------------


@dataclass
class Seed:
    """What the load needs: the product to browse and buy, and one shopper per client."""

    product_id: int
    sku: str
    slug: str
    stock: int
    shoppers: list[dict]  # {"email", "token"}


def seed(shoppers: int, stock: int = 100_000) -> Seed:
    """Add a product and ``shoppers`` customers with API tokens, and commit.

    Needs an app context (its database is the one gunicorn uses).
    """
    from shop.auth import services as auth_services
    from shop.extensions import db
    from tests.factories import make_product, make_user

    product = make_product(name="Fault-tolerant kettle", stock=stock)
    people = []
    for i in range(shoppers):
        user = make_user(f"live{i}-{uuid.uuid4().hex[:6]}@example.com", password=SHOPPER_PASSWORD)
        _token, secret = auth_services.create_api_token(user)
        people.append({"email": user.email, "token": secret})
    db.session.commit()
    return Seed(product.id, product.sku, product.slug, stock, people)


# --- load ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One request: what it was, how it ended, when (``time.monotonic()``)."""

    kind: str
    status: int | str
    start: float
    end: float
    retry_after: str | None = None
    order_number: str | None = None
    idempotency_key: str | None = None
    token: str | None = None
    replayed: bool = False  # an Idempotency-Key retry that returned an order already placed


def send_request(base: str, method: str, path: str, body=None, headers=None, form=None) -> tuple:
    """Send one request; return ``(status, headers, parsed JSON or None)``."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=CLIENT_TIMEOUT) as resp:
            raw, status, got = resp.read(), resp.status, resp.headers
    except urllib.error.HTTPError as exc:
        raw, status, got = exc.read(), exc.code, exc.headers
    except (TimeoutError, socket.timeout):
        return "timeout", {}, None
    except ConnectionRefusedError:
        return "refused", {}, None
    except (urllib.error.URLError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return "timeout", {}, None
        if isinstance(reason, ConnectionRefusedError):
            return "refused", {}, None
        return "reset", {}, None
    parsed = None
    if got.get("Content-Type", "").split(";")[0].endswith("json"):
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
    return status, got, parsed


class ShopLoad:
    """Client threads, one shopper each, going round: a product page, the home page, the
    product list API, an API login, adding to the cart and placing an order (with an
    ``Idempotency-Key``). Every request becomes an :class:`Outcome` in :attr:`outcomes`."""

    def __init__(self, base_url: str, data: Seed, threads: int = 4):
        self.base_url = base_url
        self.data = data
        self.threads = threads
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self._in_flight: dict[int, float] = {}  # thread id -> start of its current request

    def start(self) -> ShopLoad:
        """Start the client threads."""
        self._stop.clear()
        for i in range(self.threads):
            shopper = self.data.shoppers[i % len(self.data.shoppers)]
            thread = threading.Thread(target=self._run, args=(shopper,), daemon=True)
            thread.start()
            self._workers.append(thread)
        return self

    def stop(self) -> None:
        """Stop the threads after their current request (each ends within the client timeout)."""
        self._stop.set()
        for thread in self._workers:
            thread.join(timeout=CLIENT_TIMEOUT + 5)
        self._workers = []

    def _send(self, kind, method, path, **kwargs) -> tuple:
        start = time.monotonic()
        with self._lock:
            self._in_flight[threading.get_ident()] = start
        status, headers, parsed = send_request(self.base_url, method, path, **kwargs)
        outcome = Outcome(kind, status, start, time.monotonic(), headers.get("Retry-After"))
        outcome.replayed = headers.get("Idempotent-Replayed") == "true"
        with self._lock:
            self._in_flight.pop(threading.get_ident(), None)
            self.outcomes.append(outcome)
        return outcome, parsed

    def wait_for_requests_started_before(self, moment: float) -> None:
        """Wait until every request started before ``moment`` has ended (at most the client
        timeout, after which each one has)."""
        deadline = time.monotonic() + CLIENT_TIMEOUT + 2
        while time.monotonic() < deadline:
            with self._lock:
                if not any(start <= moment for start in self._in_flight.values()):
                    return
            time.sleep(0.05)

    def _run(self, shopper: dict) -> None:
        auth = {"Authorization": f"Bearer {shopper['token']}"}
        steps = ("page", "home", "api", "login", "order")
        n = 0
        while not self._stop.is_set():
            step = steps[n % len(steps)]
            n += 1
            if step == "page":
                self._send("page", "GET", f"/p/{self.data.slug}", headers={"Accept": "text/html"})
            elif step == "home":
                self._send("page", "GET", "/", headers={"Accept": "text/html"})
            elif step == "api":
                self._send("api", "GET", "/api/v1/products?per_page=5")
            elif step == "login":
                self._send(
                    "login",
                    "POST",
                    "/api/v1/auth/tokens",
                    body={"email": shopper["email"], "password": SHOPPER_PASSWORD, "name": "load"},
                )
            else:
                added, _body = self._send(
                    "cart",
                    "POST",
                    "/api/v1/cart/items",
                    body={"sku": self.data.sku, "quantity": 1},
                    headers=auth,
                )
                # A shopper orders what the cart shows; an empty cart would be a fair 409.
                if added.status in (200, 201):
                    self.place_order(shopper["token"], str(uuid.uuid4()))

    def place_order(self, token: str, key: str) -> Outcome:
        """POST an order from the shopper's cart with ``Idempotency-Key: key``."""
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
        outcome, parsed = self._send(
            "order", "POST", "/api/v1/orders", body={"shipping_address": ADDRESS}, headers=headers
        )
        outcome.idempotency_key, outcome.token = key, token
        if outcome.status == 201 and parsed:
            outcome.order_number = parsed["data"]["number"]
        return outcome


# --- phases -------------------------------------------------------------------------------


@dataclass
class FaultReport:
    """Outcomes of one fault, by phase: ``counts[phase][outcome] = n``; ``slowest[phase]``
    in seconds; ``outcomes[phase]`` the raw list."""

    name: str
    counts: dict = field(default_factory=dict)
    slowest: dict = field(default_factory=dict)
    outcomes: dict = field(default_factory=dict)

    def table(self) -> str:
        """One line per phase: the outcome counts and the slowest request."""
        lines = []
        for phase in ("before", "during", "after"):
            counts = self.counts.get(phase, {})
            shown = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0])))
            lines.append(f"{self.name:<22} {phase:<7} {shown}  (slowest {self.slowest.get(phase, 0):.2f} s)")
        return "\n".join(lines)


def run_fault(load: ShopLoad, name: str, inject, restore, before=1.5, during=3.0, after=2.5) -> FaultReport:
    """Run ``load`` through a fault: ``before`` seconds normal, ``inject()``, ``during``
    seconds, ``restore()``, ``after`` seconds. A request counts in the phase it overlaps:
    "during" if any part of it fell between ``inject()`` and ``restore()``."""
    first = len(load.outcomes)
    time.sleep(before)
    fault_start = time.monotonic()
    inject()
    time.sleep(during)
    restore()
    fault_end = time.monotonic()
    time.sleep(after)
    end = time.monotonic()
    load.wait_for_requests_started_before(end)
    with load._lock:
        mine = [o for o in load.outcomes[first:] if o.start <= end]
    report = FaultReport(name)
    for phase in ("before", "during", "after"):
        report.outcomes[phase] = []
    for outcome in mine:
        if outcome.end < fault_start:
            phase = "before"
        elif outcome.start > fault_end:
            phase = "after"
        else:
            phase = "during"
        report.outcomes[phase].append(outcome)
    for phase, items in report.outcomes.items():
        report.counts[phase] = dict(Counter(o.status for o in items))
        report.slowest[phase] = max((o.end - o.start for o in items), default=0.0)
    return report


def reconcile_orders(load: ShopLoad) -> list[Outcome]:
    """Do what the API asks of a client whose order got no definite answer: send it again
    with the same ``Idempotency-Key``. That covers orders whose connection was cut or timed
    out, and those answered 503: a commit can reach the database while its acknowledgement
    is lost, so the retry returns the order placed, or places it from the cart."""
    with load._lock:
        unsure = [
            o for o in load.outcomes if o.kind == "order" and (isinstance(o.status, str) or o.status == 503)
        ]
    return [load.place_order(o.token, o.idempotency_key) for o in unsure]


def check_orders(load: ShopLoad, data: Seed) -> dict:
    """Orders and stock after a run, read from the database (needs an app context).

    Returns ``{"orders_in_db", "orders_told", "untold", "stock", "expected_stock",
    "ledger_mismatches"}``: ``untold`` lists orders in the database whose number no client
    was given in a 201.
    """
    from sqlalchemy import func, select

    from shop.catalog.models import Product
    from shop.catalog.stock import ledger_mismatches
    from shop.extensions import db
    from shop.orders.models import Order, OrderLine

    db.session.expire_all()
    numbers = set(db.session.scalars(select(Order.number)))
    with load._lock:
        told = {o.order_number for o in load.outcomes if o.order_number}
    sold = db.session.scalar(
        select(func.coalesce(func.sum(OrderLine.quantity), 0)).where(OrderLine.sku == data.sku)
    )
    stock = db.session.scalar(select(Product.stock).where(Product.id == data.product_id))
    return {
        "orders_in_db": len(numbers),
        "orders_told": len(told),
        "untold": sorted(numbers - told),
        "stock": stock,
        "expected_stock": data.stock - int(sold),
        "ledger_mismatches": ledger_mismatches(),
    }
