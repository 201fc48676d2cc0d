"""Property-based API test: Schemathesis checks the app against its own OpenAPI document.

Every operation of ``/api/v1/openapi.json`` is called on the app, served on a local port
from this process (real database, a staff user's bearer token), in three phases:

- coverage: boundary and just-invalid values of every parameter and field;
- fuzzing: generated valid and invalid requests;
- stateful: sequences that follow the document's links (add a product from a listing to
  the cart, change or remove the line, place the order, read, cancel or move it on).

Every check runs on every answer (``--checks all``): no 5xx; a documented status, content
type, headers and body; valid requests accepted and invalid ones refused; required
headers, unsupported methods, authentication, deleted and created resources. The run
must end with no failure and no error at all.

Settings shared with a run against a server are in ``tests/schemathesis.toml`` (the rules
a document can only state in words are in ``tests/schemathesis_hooks.py``).
``SCHEMATHESIS_EXAMPLES`` raises the fuzzing examples per operation (and the stateful
steps) for a deeper run; ``SCHEMATHESIS_SEED`` draws other data. Against a running server
(the staff account's e-mail and password in the environment; the hooks module is found
from the repository root)::

    SHOP_API_EMAIL=... SHOP_API_PASSWORD=... PYTHONPATH=. schemathesis \\
        --config-file tests/schemathesis.toml run http://HOST:PORT/api/v1/openapi.json \\
        --checks all --phases coverage,fuzzing,stateful --continue-on-failure
"""

from __future__ import annotations

import logging
import os
import threading
import tomllib
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events
from schemathesis.engine.statistic import Statistic
from werkzeug.serving import make_server

from shop.orders import cart as carts
from shop.orders.checkout import place_order
from tests.factories import PASSWORD, make_category, make_product, make_user

# The longest test of the suite; CI runs it once, in the PostgreSQL pass (see .ci/run).
pytestmark = [pytest.mark.slow, pytest.mark.schemathesis]

CONFIG_FILE = Path(__file__).with_name("schemathesis.toml")
#: Fuzzing examples per operation; raise with SCHEMATHESIS_EXAMPLES for a deeper run (and
#: set SCHEMATHESIS_SEED to explore other data; the default seed keeps CI repeatable).
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "15"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261130"))
PHASES = ["coverage", "fuzzing", "stateful"]
STAFF_EMAIL = "staff@example.com"
ADDRESS = {
    "name": "Grace Hopper",
    "line1": "1 Navy Way",
    "city": "Arlington",
    "region": "VA",
    "postal_code": "22202",
    "country": "US",
}


def _world(db) -> None:
    """A small catalog and a staff user with a cart line and an order."""
    category = make_category("Laptops")
    products = [make_product(stock=1000, category=category) for _ in range(3)]
    staff = make_user(STAFF_EMAIL, role="staff")
    db.session.commit()
    carts.add_item(carts.get_user_cart(staff.id, create=True), products[0].sku, 1)
    place_order(
        cart=carts.get_user_cart(staff.id),
        user_id=staff.id,
        email=staff.email,
        shipping_address=ADDRESS,
        payment_provider="manual",
    )
    carts.add_item(carts.get_user_cart(staff.id, create=True), products[1].sku, 1)
    db.session.commit()


def _config() -> SchemathesisConfig:
    """The shared settings with the staff login, every check, the phases and a fixed seed."""
    raw = tomllib.loads(CONFIG_FILE.read_text())
    raw["auth"]["dynamic"]["openapi"]["bearerAuth"]["payload"] = {
        "email": STAFF_EMAIL,
        "password": PASSWORD,
        "name": "schemathesis",
    }
    raw.update({"seed": SEED, "workers": 1, "continue-on-failure": True})
    raw["generation"].update({"max-examples": EXAMPLES, "database": "none"})
    raw.setdefault("phases", {}).setdefault("stateful", {})["max-steps"] = 5 * EXAMPLES
    config = SchemathesisConfig.from_dict(raw)
    project = config.projects.override
    project.checks.update(included_check_names=["all"])
    # "all" is set explicitly, and an explicitly set check outranks a file's setting unless
    # that is explicit too: the file's per-operation exclusions are made so.
    for operation in config.projects.default.operations.operations:
        if not operation.checks.ensure_resource_availability.enabled:
            operation.checks.update(excluded_check_names=["ensure_resource_availability"])
    project.phases.update(phases=PHASES)
    return config


@contextmanager
def _serving(app):
    """Serve ``app`` over HTTP on a free local port for the duration (as the CLI run sees a
    server: the same transport, and the token fetch of ``schemathesis.toml`` works)."""
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    quiet = logging.getLogger("werkzeug")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # no access log line per request
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        quiet.setLevel(level)


def _describe(statistic: Statistic, cases: dict) -> list[str]:
    """One entry per distinct failure: the operation, the check, its message and a curl
    command for the first request that showed it."""
    described = []
    for failure, case_id in statistic.unique_failures_map.items():
        message = " ".join(str(failure.message).split())[:300]
        case = cases.get(case_id)
        curl = case.as_curl_command()[:500] if case is not None else "(no request)"
        described.append(f"{failure.operation}: {failure.title}: {message}\n    {curl}")
    return described


def _run(base_url: str) -> None:
    """Run every phase and check against the server at ``base_url``; assert a clean run."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json", config=_config())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    statistic = Statistic()
    errors: list[str] = []
    phases: Counter = Counter()
    cases: dict = {}
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            statistic.on_scenario_finished(event.recorder)
            phases[str(event.phase)] += len(event.recorder.cases)
            cases.update((case_id, node.value) for case_id, node in event.recorder.cases.items())
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.info.title}: {event.info.message}"[:400])
        elif isinstance(event, events.FatalError):
            raise event.exception

    failures = _describe(statistic, cases)
    print(
        f"\nschemathesis: {len(operations)} operations ({len(statistic.tested_operations)} tested), "
        f"{statistic.total_cases} cases {dict(phases)}, {len(failures)} unique failures, "
        f"{len(errors)} errors"
    )
    assert statistic.total_cases > 0 and len(statistic.tested_operations) == len(operations)
    assert not failures and not errors, "\n".join(failures + errors)


def test_api_conforms_to_its_openapi_document(app, db):
    _world(db)
    with _serving(app) as base_url:
        _run(base_url)
