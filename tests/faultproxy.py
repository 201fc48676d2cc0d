"""A TCP proxy the fault tests own: put it between the app and a service, then make the
service refuse connections, hang, or come back, while requests are in flight.

    proxy = FaultProxy(("127.0.0.1", 6379)).start()   # listens on 127.0.0.1:<free port>
    proxy.refuse()    # connections refused, open ones reset (a stopped server)
    proxy.hang()      # connections accepted, nothing answered (a SIGSTOPped server)
    proxy.restore()   # forward again; what was held during a hang is delivered
    proxy.stop()

One thread runs a selector loop over the listener and every connection pair, so a
proxy costs no thread per connection. The listener keeps its port across ``refuse()``
and ``restore()`` (it is re-bound with ``SO_REUSEADDR``), so the app's URL stays valid.
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import struct
import subprocess
import threading
import time

UP, HANG, REFUSE = "up", "hang", "refuse"


class FaultProxy:
    """A TCP proxy from ``127.0.0.1:<port>`` to ``upstream`` (``(host, port)``, or the path of
    a unix socket) whose behaviour can be switched at any time (``refuse``, ``hang``,
    ``restore``)."""

    def __init__(self, upstream: tuple[str, int] | str, port: int = 0):
        self.upstream = upstream
        self.port = port
        self.mode = UP
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._listener: socket.socket | None = None
        self._peers: dict[socket.socket, socket.socket | None] = {}
        self._held: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._running = False
        self._applied = threading.Event()

    # --- control (any thread) ---------------------------------------------------------

    def start(self) -> FaultProxy:
        """Bind the listener (a free port unless one was given) and start forwarding."""
        self._listen()
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._running = True
        self._thread = threading.Thread(target=self._loop, name=f"faultproxy-{self.port}", daemon=True)
        self._thread.start()
        return self

    def refuse(self) -> None:
        """Refuse new connections and reset the open ones, like a server that went away."""
        self._switch(REFUSE)

    def hang(self) -> None:
        """Accept connections but pass nothing either way, like a server that froze."""
        self._switch(HANG)

    def restore(self) -> None:
        """Forward again (held connections resume where they stopped)."""
        self._switch(UP)

    def stop(self) -> None:
        """Close everything and end the thread."""
        self._running = False
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for sock in list(self._peers):
            self._close(sock)
        if self._listener is not None:
            self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        self._selector.close()

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` to give the app instead of the service's own address."""
        return "127.0.0.1", self.port

    def _switch(self, mode: str) -> None:
        """Ask the loop for ``mode`` and wait until it has been applied."""
        with self._lock:
            self.mode = mode
            self._applied.clear()
        self._wake()
        if not self._applied.wait(timeout=5):
            raise RuntimeError(f"fault proxy did not switch to {mode!r}")

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    # --- the loop (proxy thread only) ---------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ, "accept")

    def _loop(self) -> None:
        applied = UP
        while self._running:
            with self._lock:
                mode = self.mode
                if mode != applied:
                    self._apply(applied, mode)
                    applied = mode
                self._applied.set()
            for key, _events in self._selector.select(timeout=0.5):
                if key.data == "wake":
                    self._wake_r.recv(4096)
                elif key.data == "accept":
                    self._accept(mode)
                else:
                    self._pump(key.fileobj)

    def _apply(self, old: str, new: str) -> None:
        """Move from one mode to another: open or close the listener, pause or resume."""
        if old == REFUSE:
            self._listen()
        if new == REFUSE:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None
            for sock in list(self._peers):
                self._close(sock, reset=True)
            for sock in self._held:
                self._close(sock, reset=True)
            self._held = []
            return
        if new == HANG:
            # Stop reading: bytes pile up in the kernel buffers, nobody answers.
            for sock in self._peers:
                self._selector.unregister(sock)
        elif old == HANG:
            for sock in self._peers:
                self._selector.register(sock, selectors.EVENT_READ, "pump")
            held, self._held = self._held, []
            for client in held:
                self._connect(client)

    def _accept(self, mode: str) -> None:
        try:
            client, _addr = self._listener.accept()
        except (BlockingIOError, OSError):
            return
        client.setblocking(True)
        if mode == HANG:
            self._held.append(client)
        else:
            self._connect(client)

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = self._open_upstream()
        except OSError:
            self._close(client, reset=True)
            return
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for sock in (client, upstream):
            sock.settimeout(5)
        self._peers[client] = upstream
        self._peers[upstream] = client
        self._selector.register(client, selectors.EVENT_READ, "pump")
        self._selector.register(upstream, selectors.EVENT_READ, "pump")

    def _open_upstream(self) -> socket.socket:
        if isinstance(self.upstream, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5)
            try:
                sock.connect(self.upstream)
            except OSError:
                sock.close()
                raise
            return sock
        sock = socket.create_connection(self.upstream, timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _pump(self, sock: socket.socket) -> None:
        peer = self._peers.get(sock)
        try:
            data = sock.recv(65536)
            if data and peer is not None:
                peer.sendall(data)
                return
        except OSError:
            pass
        self._close(sock)

    def _close(self, sock: socket.socket, reset: bool = False) -> None:
        """Close a socket and its peer; ``reset`` sends RST instead of a clean FIN."""
        peer = self._peers.pop(sock, None)
        for s in (sock, peer):
            if s is None:
                continue
            self._peers.pop(s, None)
            try:
                self._selector.unregister(s)
            except (KeyError, ValueError):
                pass
            if reset:
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            s.close()


class RedisServer:
    """A private ``redis-server`` on a unix socket (no TCP port to collide with), for tests
    that must stop, freeze or lose a Redis without touching the shared one."""

    def __init__(self, directory: str):
        self.socket_path = os.path.join(directory, "redis.sock")
        self._proc: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        """True when a ``redis-server`` binary is on the PATH."""
        return shutil.which("redis-server") is not None

    def start(self, timeout: float = 10) -> RedisServer:
        """Start the server and wait until it answers PING.

        Raises:
            RuntimeError: it did not answer within ``timeout`` seconds.
        """
        self._proc = subprocess.Popen(
            [
                "redis-server",
                "--port", "0",
                "--unixsocket", self.socket_path,
                "--unixsocketperm", "700",
                "--save", "",
                "--appendonly", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.settimeout(1)
                    sock.connect(self.socket_path)
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Stop the server (it keeps nothing on disk)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


def private_redis(directory: str) -> RedisServer:
    """A started :class:`RedisServer`, or skip the test when ``redis-server`` is missing
    (fail under ``CI=true``, where every service the suite needs must be there)."""
    import pytest

    if not RedisServer.available():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but redis-server is not installed")
        pytest.skip("redis-server is not installed")
    return RedisServer(directory).start()
