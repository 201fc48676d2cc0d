"""A gunicorn worker tunes the garbage collector once it has loaded the app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_worker_freezes_what_it_loaded_and_collects_young_objects_less_often():
    # In a process of its own: the settings are process-wide.
    script = (
        "import gc, json, runpy\n"
        "before = gc.get_threshold()\n"
        "conf = runpy.run_path('gunicorn.conf.py')\n"
        "import wsgi\n"
        "conf['post_worker_init'](None)\n"
        "print(json.dumps([before, gc.get_threshold(), gc.get_freeze_count(), conf['GC_YOUNG_THRESHOLD']]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    before, after, frozen, young = json.loads(out.stdout.strip().splitlines()[-1])
    assert before[0] == 700 and after[0] == young > 700
    # The app, its extensions and the modules they import are out of the collector's reach.
    assert frozen > 50_000
