"""Concurrent clients for a live shop, and faults run in phases under them.

- :class:`ShopLoad` runs client threads that browse, log in and place orders over HTTP,
  recording every request's outcome and timing.
- :func:`run_fault` runs one fault in three phases (before, during, after) and counts the
  outcomes of each phase; :func:`reconcile_orders` and :func:`check_orders` settle orders
  and stock afterwards.

An outcome is an HTTP status, or ``"timeout"`` (no answer within :data:`CLIENT_TIMEOUT`),
``"reset"`` (the connection was cut) or ``"refused"``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field

from tests.liveshop import SHOPPER_PASSWORD, Seed

ADDRESS = {
    "name": "Load Shopper",
    "line1": "1 Fault Lane",
    "city": "Proxyville",
    "region": "NY",
    "postal_code": "10101",
    "country": "US",
}

#: A client gives up on a request after this many seconds: above the app's worst case with
#: the production settings (a hung database: 15 s read timeout, then a 3 s connect timeout),
#: below gunicorn's own limit (30 s).
CLIENT_TIMEOUT = 20.0


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


def send_request(base: str, method: str, path: str, body=None, headers=None) -> tuple:
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

    def wait_for_answers(self, count: int) -> None:
        """Wait until ``count`` requests have been answered (at most the client timeout): a
        fault's "before" phase then measures a shop that is serving, not one still
        answering its first, cold requests."""
        self._wait_until(lambda: len(self.outcomes) >= count)

    def wait_for_requests_started_before(self, moment: float) -> None:
        """Wait until every request started before ``moment`` has ended (at most the client
        timeout, after which each one has)."""
        self._wait_until(lambda: not any(start <= moment for start in self._in_flight.values()))

    def _wait_until(self, done) -> None:
        """Poll ``done()`` under the lock until it holds or the client timeout passes."""
        deadline = time.monotonic() + CLIENT_TIMEOUT + 2
        while time.monotonic() < deadline:
            with self._lock:
                if done():
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
    in seconds; ``outcomes[phase]`` the raw list; ``restored_at`` when ``restore()`` ran
    (``time.monotonic()``)."""

    name: str
    restored_at: float = 0.0
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
    "during" if any part of it fell between ``inject()`` and ``restore()``. The phases start
    once the load has had an answer for each client thread (a just-started shop's first,
    cold answers may take longer than ``before``)."""
    load.wait_for_answers(load.threads)
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
    report = FaultReport(name, restored_at=fault_end)
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
