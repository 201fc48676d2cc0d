"""Settings of a long-lived serving process (a gunicorn worker) that an app factory must
not make for every app it builds (tests build hundreds): ``gunicorn.conf.py`` applies them
once the worker has loaded the app."""

from __future__ import annotations

import gc

#: Container objects allocated (net) between two young collections of the cyclic garbage
#: collector; CPython's default is 700.
GC_YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Tune the cyclic garbage collector for a worker that keeps large caches.

    The objects alive once the app is loaded (modules, the app and its extensions) are
    moved out of the collector's reach (:func:`gc.freeze`), and young collections run
    every ``GC_YOUNG_THRESHOLD`` allocations instead of 700, so that full collections,
    which walk every tracked object, come some fourteen times less often.

    Why: search keeps hundreds of thousands of objects per worker (the products' ranking
    fields and their tokens), nearly all of them acyclic and freed by reference counting;
    a full collection walks them all. Measured on the dev queries, each meeting a worker
    that had served the other half: 140 ms of collections over 34 queries (about 4 ms a
    query, a quarter of its CPU), 10 ms with these settings. The same remedy as
    Instagram's ("Dismissing Python Garbage Collection at Instagram", 2017) and the
    Python documentation's advice on :func:`gc.freeze` for forking servers.
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)
