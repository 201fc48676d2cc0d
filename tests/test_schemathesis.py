"""Property-based API test: Schemathesis against the generated OpenAPI document.

Every operation of ``/api/v1/openapi.json`` is called on the live app (real database, as a
staff user with a bearer token) with generated requests:

- valid requests (positive), with random path values and with the ids of real objects;
- invalid requests (negative), which must be refused with a documented 4xx.

Each answer must not be a 5xx and must conform to the document: a documented status code
and content type, headers and a body that match the response schema.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import update

from shop.auth import services as auth_services
from shop.auth.models import ApiToken
from shop.orders import cart as carts
from shop.orders.checkout import place_order
from tests.factories import make_category, make_product, make_user

# The longest test of the suite; CI runs it once, in the PostgreSQL pass (see .ci/run).
pytestmark = [pytest.mark.slow, pytest.mark.schemathesis]

#: Examples per operation and pass; raise with SCHEMATHESIS_EXAMPLES for a deeper run.
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "40"))
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
ADDRESS = {
    "name": "Grace Hopper",
    "line1": "1 Navy Way",
    "city": "Arlington",
    "region": "VA",
    "postal_code": "22202",
    "country": "US",
}


def _world(db):
    """A small catalog and a staff user with a cart line, an order and API tokens."""
    category = make_category("Laptops")
    products = [make_product(stock=1000, category=category) for _ in range(3)]
    staff = make_user("staff@example.com", role="staff")
    db.session.commit()
    carts.add_item(carts.get_user_cart(staff.id, create=True), products[0].sku, 1)
    order = place_order(
        cart=carts.get_user_cart(staff.id),
        user_id=staff.id,
        email=staff.email,
        shipping_address=ADDRESS,
        payment_provider="manual",
    ).order
    line = carts.add_item(carts.get_user_cart(staff.id, create=True), products[1].sku, 1)
    spare, _ = auth_services.create_api_token(staff, "spare")
    token, secret = auth_services.create_api_token(staff, "schemathesis")
    db.session.commit()
    known = {"slug": products[2].slug, "number": order.number, "item_id": line.id, "token_id": spare.id}
    return {"bearer": secret, "token_id": token.id, "known": known}


def _describe(exc: BaseException) -> str:
    """One line per failed check."""
    parts = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
    return "; ".join(f"{getattr(p, 'title', type(p).__name__)}: {str(p).strip()[:300]}" for p in parts)


def test_api_conforms_to_its_openapi_document(app, db):
    world = _world(db)
    headers = {"Authorization": f"Bearer {world['bearer']}"}
    # Unknown query parameters are ignored by design (a tolerant reader: cache busters,
    # tracking tags); unknown JSON body fields are refused, and that is still tested.
    config = SchemathesisConfig.from_dict({"generation": {"allow-extra-parameters": False}})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    stats: Counter = Counter()
    statuses: Counter = Counter()
    failures: list[str] = []
    skipped_negative: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    def keep_bearer_alive():
        # A generated DELETE may revoke the token the test itself uses; undo that.
        db.session.execute(update(ApiToken).where(ApiToken.id == world["token_id"]).values(revoked_at=None))
        db.session.commit()

    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        names = {p.name for p in operation.path_parameters}
        passes = [("positive", GenerationMode.POSITIVE, None), ("negative", GenerationMode.NEGATIVE, None)]
        fixed = {k: v for k, v in world["known"].items() if k in names}
        if names and set(fixed) == names:
            passes.append(("known ids", GenerationMode.POSITIVE, fixed))

        for pass_name, mode, path_parameters in passes:
            checks = CONFORMANCE + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                response = case.call(headers=headers)
                stats[label] += 1
                statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=checks, headers=headers)
                except (Exception, BaseExceptionGroup) as exc:  # collect every failure
                    failures.append(
                        f"{label} [{pass_name}] -> {response.status_code}: "
                        f"{_describe(exc)}\n  {case.as_curl_command(headers)}"
                    )
                finally:
                    db.session.rollback()
                    keep_bearer_alive()

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, f"{label}: no valid request can be generated"
                skipped_negative.append(label)  # nothing in this operation can be made invalid

    total = sum(stats.values())
    print(
        f"\nschemathesis: {len(operations)} operations, {total} requests, "
        f"{len(failures)} failures; statuses {dict(sorted(statuses.items()))}"
    )
    assert set(stats) == {f"{op.method.upper()} {op.path}" for op in operations}
    first: dict[str, str] = {}
    for f in failures:  # one example (with its curl command) per distinct failure
        first.setdefault(f.split("\n")[0][:200], f.rsplit("\n", 1)[-1].strip()[:300])
    distinct = [f"{what}\n    {curl}" for what, curl in first.items()]
    assert not failures and not statuses.get(500), f"{len(distinct)} distinct failures:\n" + "\n".join(
        distinct[:40]
    )
