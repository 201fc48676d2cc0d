"""gunicorn settings for the shop: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Environment: ``PORT`` (default 8000), ``WEB_CONCURRENCY`` (workers, default 2 per CPU + 1),
``GUNICORN_TIMEOUT`` and ``GUNICORN_GRACEFUL_TIMEOUT`` (seconds). Options given on the
command line win over this file.

Timeouts, from the inside out (all in seconds): one Redis call 0.5, opening a database
connection 3, one SQL statement 10, any answer from the database 15 (``config.py``), one
request 30 (``timeout`` here, after which the master kills the worker), then the drain on
shutdown (``graceful_timeout``). Each is shorter than the next, so a slow or hung service
is answered by the app (a 503 at worst) before gunicorn has to kill anyone.
"""

import gc
import logging
import multiprocessing
import os
import sys

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Sync workers: one request per process, so a request stuck past `timeout` is ended by the
# master killing its worker (a threaded worker would keep heartbeating and never be killed).
worker_class = "sync"

# A request may take this long before the master kills its worker and starts a new one.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM (a deploy, `docker stop`) the listener closes at once and workers get this
# long to finish the requests they hold. Keep the orchestrator's kill timeout above it
# (`docker stop --time 35`, Kubernetes terminationGracePeriodSeconds: 35).
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Idle keep-alive connections from a load balancer are kept this long (seconds).
keepalive = 5

# Recycle workers now and then (jittered, so they do not all restart together).
max_requests = 2000
max_requests_jitter = 200

# The heartbeat file on a memory file system: a slow disk cannot get workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

accesslog = "-"
errorlog = "-"


def on_starting(server):
    """Send the app's own log records (database unavailable, cache and rate-limit storage
    down and back) to stderr at INFO, beside gunicorn's. Runs in the master before the
    workers fork and load the app, so Flask finds this handler and adds none of its own."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s")
        )
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin list at every boot


#: Container objects allocated (net) between two young collections of the cyclic garbage
#: collector in a worker; CPython's default is 700.
GC_YOUNG_THRESHOLD = 10_000


def post_worker_init(worker):
    """Tune the cyclic garbage collector for a worker that has just loaded the app.

    The objects alive at this point (modules, the app and its extensions) are moved out of
    the collector's reach (``gc.freeze``), and young collections run every
    ``GC_YOUNG_THRESHOLD`` allocations instead of 700, so that full collections, which
    walk every tracked object, come some fourteen times less often.

    Why: search keeps hundreds of thousands of objects per worker (the products' ranking
    fields and their tokens), nearly all acyclic and freed by reference counting; a full
    collection walked them all. Measured on the dev queries, each meeting a worker that
    had served the other half: 140 ms of collections over 34 queries (about 4 ms a
    query, a quarter of its CPU), 12 ms with these settings. The remedy of Instagram's
    "Dismissing Python Garbage Collection at Instagram" (2017) and of the Python
    documentation's advice on ``gc.freeze``. Set here, not in the app factory: it is
    process-wide, and the tests build hundreds of apps.
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)
