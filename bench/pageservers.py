"""The processes of the page benchmark (``bench/pages.py``): the bare Flask "hello" app, a
gunicorn server for either app, a client that keeps a shopper's cookies, orders placed
during the runs, and Debian's ``wrk`` with the script that checks every answer."""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from tests.liveshop import child_stats, children_cpu_seconds

ROOT = Path(__file__).resolve().parent.parent


def hello_app():
    """The bare Flask app measured beside the shop (``gunicorn pageservers:hello``)."""
    from flask import Flask

    app = Flask("hello")

    @app.get("/")
    def index():
        return "Hello, World!"

    return app


#: gunicorn's target for the bare app (``--pythonpath bench pageservers:hello``).
hello = None
if os.environ.get("BENCH_PAGES_HELLO") == "1":
    hello = hello_app()

# A wrk script: counts 2xx and other answers in every thread, optionally walks a file of
# paths (each thread its own stride, from an offset) and prints the counts at the end.
WRK_SCRIPT = r"""
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  ok = 0
  bad = 0
  paths = nil
  if args[1] then
    paths = {}
    for line in io.lines(args[1]) do table.insert(paths, line) end
    step = tonumber(args[3])
    idx = tonumber(args[2]) + id
  end
end
function request()
  if paths then
    local p = paths[(idx % #paths) + 1]
    idx = idx + step
    return wrk.format(nil, p)
  end
  return wrk.format(nil, nil)
end
function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local tok, tbad = 0, 0
  for _, t in ipairs(threads) do
    tok = tok + t:get("ok")
    tbad = tbad + t:get("bad")
  end
  io.write(string.format("STATUS ok=%d bad=%d\n", tok, tbad))
end
"""


# --- the servers --------------------------------------------------------------------------


class Server:
    """A gunicorn master started with the project's ``gunicorn.conf.py``."""

    def __init__(self, name: str, target: str, port: int, workers: int, env: dict, extra=()):
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.name, self.port = name, port
        self.proc = subprocess.Popen(
            [
                gunicorn,
                "-c",
                "gunicorn.conf.py",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{port}",
                "--max-requests",
                "0",
                "--access-logfile",
                os.devnull,
                "--log-level",
                "warning",
                *extra,
                target,
            ],
            cwd=ROOT,
            env={**os.environ, **env},
        )

    def wait(self, path: str = "/") -> None:
        """Wait until ``path`` answers 200 (60 s at most)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name}: gunicorn exited during start-up")
            try:
                status, _, _ = http_request(self.port, "GET", path)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise SystemExit(f"{self.name}: no answer within 60 s")

    def workers(self) -> list[int]:
        """Process ids of the master's workers."""
        return sorted(child_stats(self.proc.pid))

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the workers so far."""
        return children_cpu_seconds(self.proc.pid)

    def rss_mb(self) -> list[float]:
        """Each worker's resident set size in MB."""
        out = []
        for pid in self.workers():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out.append(int(line.split()[1]) / 1024)
        return sorted(out)

    def stop(self) -> None:
        """Stop the master and its workers."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def http_request(port: int, method: str, path: str, body: dict | None = None, headers: dict | None = None):
    """One request; returns ``(status, headers as a list of pairs, body bytes)``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = None
    headers = dict(headers or {})
    if body is not None:
        if headers.get("Content-Type") == "application/json":
            data = json.dumps(body).encode()
        else:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    out = resp.status, resp.getheaders(), resp.read()
    conn.close()
    return out


class Browser:
    """Cookies kept by hand (the shop's cookies may be ``Secure``; this talks plain HTTP)."""

    def __init__(self, port: int):
        self.port, self.cookies = port, {}
        #: The ``Location`` of the last answer (a redirect), or None.
        self.location: str | None = None

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        """A request with the cookies so far; returns ``(status, body)``."""
        headers = {"Cookie": self.cookie_header()} if self.cookies else {}
        status, resp_headers, data = http_request(self.port, method, path, body, headers)
        self.location = None
        for name, value in resp_headers:
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
            elif name.lower() == "location":
                self.location = value
        return status, data

    def cookie_header(self) -> str:
        """The ``Cookie`` header to send."""
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items() if v)

    def csrf(self, path: str) -> str:
        """The form token of the page at ``path``."""
        _, page = self.request("GET", path)
        return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()


def signed_in_customer(port: int, sku: str) -> str:
    """Register a customer, log in through the login form and put ``sku`` in the cart.

    Returns the ``Cookie`` header of that browser.
    """
    email = f"bench-{random.randrange(10**9)}@example.com"
    password = "bench password 123"
    status, _, _ = http_request(
        port,
        "POST",
        "/api/v1/auth/register",
        {"email": email, "password": password, "name": "Bench"},
        {"Content-Type": "application/json"},
    )
    assert status == 201, status
    browser = Browser(port)
    token = browser.csrf("/auth/login")
    status, _ = browser.request(
        "POST", "/auth/login", {"email": email, "password": password, "csrf_token": token}
    )
    assert status in (302, 303), f"login answered {status}"
    token = browser.csrf("/auth/account")
    status, _ = browser.request("POST", "/cart/add", {"sku": sku, "quantity": "1", "csrf_token": token})
    assert status in (302, 303), f"add to cart answered {status}"
    # Follow the redirect as a browser does: that page shows the "Added ..." message once,
    # so the measured pages do not all carry it (and rewrite the session to drop it).
    target = urllib.parse.urlsplit(browser.location or "/")
    browser.request("GET", target.path + (f"?{target.query}" if target.query else ""))
    return browser.cookie_header()


class Sales(threading.Thread):
    """Places about ``rate`` orders a second through the API until stopped."""

    def __init__(self, port: int, rate: float, skus: list[str]):
        super().__init__(daemon=True)
        self.port, self.rate, self.skus = port, rate, skus
        self.placed, self.failed = 0, {}
        self.stopping = threading.Event()
        email = f"bench-sales-{random.randrange(10**9)}@example.com"
        body = {"email": email, "password": "bench password 123", "name": "Sales"}
        http_request(port, "POST", "/api/v1/auth/register", body, {"Content-Type": "application/json"})
        _, _, data = http_request(
            port, "POST", "/api/v1/auth/tokens", body, {"Content-Type": "application/json"}
        )
        self.auth = {
            "Authorization": "Bearer " + json.loads(data)["data"]["token"],
            "Content-Type": "application/json",
        }

    def run(self) -> None:
        """Add one unit of a random product to the cart, order it; repeat at the rate."""
        address = {"name": "Bench", "line1": "1 Load St", "city": "Benchville", "region": "NY"}
        address.update({"postal_code": "10001", "country": "US"})
        while not self.stopping.wait(1 / self.rate):
            sku = random.choice(self.skus)
            http_request(self.port, "POST", "/api/v1/cart/items", {"sku": sku, "quantity": 1}, self.auth)
            order = {"shipping_address": address, "payment_provider": "manual"}
            status, _, _ = http_request(self.port, "POST", "/api/v1/orders", order, self.auth)
            if status == 201:
                self.placed += 1
            else:
                self.failed[status] = self.failed.get(status, 0) + 1


# --- wrk ----------------------------------------------------------------------------------


def run_wrk(args, port: int, path: str, duration: int, headers=(), paths_file: str = "", offset: int = 0):
    """One wrk run. Returns ``{"rps", "requests", "ok", "bad", "errors"}``."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s", "-s", script.name]
    for header in headers:
        cmd += ["-H", header]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    if paths_file:
        cmd += ["--", paths_file, str(offset), str(args.threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    status = re.search(r"STATUS ok=(\d+) bad=(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": requests,
        "ok": int(status.group(1)),
        "bad": int(status.group(2)),
        "errors": errors.group(1).strip() if errors else "",
    }
