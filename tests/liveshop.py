"""The shop under a live gunicorn, for fault tests and ``bench/faults.py``.

- :class:`LiveShop` starts ``gunicorn -c gunicorn.conf.py wsgi:app`` from this checkout on a
  free loopback port with production settings (:func:`shop_env`), and stops it.
- :func:`seed` adds a product and shoppers (each with an API token) to the database.

The clients and the fault phases are in :mod:`tests.shopload`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOPPER_PASSWORD = "live shopper password"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_stats(parent: int) -> dict[int, list[str]]:
    """Each child process of ``parent`` -> the fields of its ``/proc/<pid>/stat`` after the
    parenthesised command name (state, ppid, ...; user and system CPU ticks at 11 and 12).
    Linux only."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            out[int(entry)] = fields
    return out


def children_cpu_seconds(parent: int) -> float:
    """User + system CPU seconds used so far by the children of ``parent`` (a gunicorn
    master's workers)."""
    ticks = sum(int(fields[11]) + int(fields[12]) for fields in child_stats(parent).values())
    return ticks / os.sysconf("SC_CLK_TCK")


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
        return sorted(child_stats(self.proc.pid)) if self.proc is not None else []

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
