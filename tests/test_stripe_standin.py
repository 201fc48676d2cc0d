"""The Stripe stand-in (tests/stripe_standin.py) against the real ``stripe`` library, with no
shop code: Checkout Sessions and Refunds through ``StripeClient``, idempotency keys, the
hosted page, and webhooks that ``stripe.Webhook.construct_event`` accepts or refuses.

Figures: two items at 12.50 USD and one at 5.00 USD make amount_total 3000 (cents).
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
import stripe
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.stripe_standin import API_VERSION, DEFAULT_WEBHOOK_SECRET, StripeStandIn, parse_params

SESSION = {
    "mode": "payment",
    "line_items": [
        {
            "price_data": {"currency": "usd", "unit_amount": 1250, "product_data": {"name": "Kettle"}},
            "quantity": 2,
        },
        {
            "price_data": {"currency": "usd", "unit_amount": 500, "product_data": {"name": "Filter"}},
            "quantity": 1,
        },
    ],
    "client_reference_id": "order-7",
    "metadata": {"order_id": "7"},
    "success_url": "http://shop.test/checkout/done?session={CHECKOUT_SESSION_ID}",
    "cancel_url": "http://shop.test/cart",
}


class Receiver:
    """A webhook endpoint as the shop will write one: ``construct_event`` on the raw body
    and header; 200 with the event kept, or 400 with the reason."""

    def __init__(self, secret: str):
        self.secret = secret
        self.events: list = []
        self.refusals: list[str] = []
        self.bodies: list[bytes] = []
        self.on_event = None  # called with each accepted event, before answering
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/webhook"

    @Request.application
    def _app(self, request: Request) -> Response:
        payload = request.get_data()
        self.bodies.append(payload)
        try:
            event = stripe.Webhook.construct_event(
                payload, request.headers.get("Stripe-Signature"), self.secret
            )
        except (ValueError, stripe.SignatureVerificationError) as exc:
            self.refusals.append(str(exc))
            return Response("refused", status=400)
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)
        return Response("ok")


@pytest.fixture
def no_proxy(monkeypatch):
    """The library's HTTP client (requests) honours proxy variables; loopback must not go
    through one."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def receiver():
    recv = Receiver(DEFAULT_WEBHOOK_SECRET)
    recv._thread.start()
    yield recv
    recv._server.shutdown()
    recv._thread.join(5)


@pytest.fixture
def standin(receiver, no_proxy, monkeypatch):
    # With telemetry on the library writes an id under ~/.config/stripe on its first call.
    monkeypatch.setattr(stripe, "enable_telemetry", False)
    server = StripeStandIn(webhook_url=receiver.url).start()
    yield server
    server.stop()


@pytest.fixture
def client(standin):
    return stripe.StripeClient(standin.api_key, base_addresses={"api": standin.base_url})


def _paid_session(client, standin) -> stripe.checkout.Session:
    session = client.v1.checkout.sessions.create(params=SESSION)
    standin.complete(session.id)
    return client.v1.checkout.sessions.retrieve(session.id)


def test_parse_params_nests_bracketed_keys_and_lists():
    pairs = [
        ("line_items[0][price_data][unit_amount]", "1250"),
        ("line_items[0][quantity]", "2"),
        ("line_items[1][quantity]", "1"),
        ("metadata[order_id]", "7"),
        ("expand[]", "a"),
        ("expand[]", "b"),
        ("mode", "payment"),
    ]
    assert parse_params(pairs) == {
        "line_items": [{"price_data": {"unit_amount": "1250"}, "quantity": "2"}, {"quantity": "1"}],
        "metadata": {"order_id": "7"},
        "expand": ["a", "b"],
        "mode": "payment",
    }


def test_session_create_retrieve_and_idempotency(client, standin):
    session = client.v1.checkout.sessions.create(params=SESSION, options={"idempotency_key": "order-7-try-1"})

    assert isinstance(session, stripe.checkout.Session)
    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert session.url == f"{standin.base_url}/pay/{session.id}"
    assert (session.amount_total, session.currency, session.mode) == (3000, "usd", "payment")
    assert session.client_reference_id == "order-7"
    assert session.metadata.to_dict() == {"order_id": "7"}
    assert (session.status, session.payment_status, session.payment_intent) == ("open", "unpaid", None)
    assert session.success_url == SESSION["success_url"]
    assert session.expires_at > time.time() + 23 * 3600

    call = standin.requests[-1]
    assert (call.method, call.path, call.status, call.idempotency_key) == (
        "POST",
        "/v1/checkout/sessions",
        200,
        "order-7-try-1",
    )
    assert call.params["line_items"][0]["price_data"]["unit_amount"] == "1250"
    assert call.params["metadata"] == {"order_id": "7"}
    assert call.headers["Stripe-Version"] == API_VERSION
    assert call.headers["Authorization"] == f"Bearer {standin.api_key}"

    again = client.v1.checkout.sessions.create(params=SESSION, options={"idempotency_key": "order-7-try-1"})
    assert again.id == session.id
    assert standin.requests[-1].replayed
    assert again.last_response.headers["Idempotent-Replayed"] == "true"

    other = {**SESSION, "client_reference_id": "order-8"}
    with pytest.raises(stripe.IdempotencyError) as raised:
        client.v1.checkout.sessions.create(params=other, options={"idempotency_key": "order-7-try-1"})
    assert raised.value.http_status == 400
    assert "same parameters" in raised.value.user_message

    fresh = client.v1.checkout.sessions.create(params=SESSION)
    assert fresh.id != session.id  # the library puts a key of its own on every POST
    assert standin.requests[-1].idempotency_key

    fetched = client.v1.checkout.sessions.retrieve(session.id)
    assert fetched.to_dict() == session.to_dict()
    assert standin.requests[-1].method == "GET"


def test_api_refuses_like_stripe(client, standin):
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient(
            "sk_test_wrong", base_addresses={"api": standin.base_url}
        ).v1.checkout.sessions.create(params=SESSION)
    assert standin.requests[-1].status == 401

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.create(params={**SESSION, "amount": 3000})
    assert (raised.value.code, raised.value.param) == ("parameter_unknown", "amount")

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.create(
            params={**SESSION, "line_items": [{"price": "price_123", "quantity": 1}]}
        )
    assert raised.value.user_message.startswith("stand-in:")

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.retrieve("cs_test_missing")
    assert (raised.value.http_status, raised.value.code) == (404, "resource_missing")

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.payment_intents.retrieve("pi_test_anything")
    assert "Unrecognized request URL" in raised.value.user_message


def test_hosted_page_pays_and_webhook_is_verified(client, standin, receiver):
    session = client.v1.checkout.sessions.create(params=SESSION)

    page = requests.get(session.url, timeout=5)
    assert page.status_code == 200
    assert "Stand-in for Stripe Checkout" in page.text
    assert "30.00 USD" in page.text
    assert 'href="http://shop.test/cart"' in page.text

    paid = requests.post(session.url, allow_redirects=False, timeout=5)
    assert paid.status_code == 303
    assert paid.headers["Location"] == f"http://shop.test/checkout/done?session={session.id}"

    (event,) = receiver.events
    assert isinstance(event, stripe.Event)
    assert (event.type, event.object, event.livemode, event.api_version) == (
        "checkout.session.completed",
        "event",
        False,
        API_VERSION,
    )
    assert event.id.startswith("evt_")
    completed = event.data.object
    assert (completed.id, completed.status, completed.payment_status) == (session.id, "complete", "paid")
    assert completed.payment_intent.startswith("pi_test_")
    assert completed.client_reference_id == "order-7"
    assert standin.webhooks[-1].status == 200
    assert standin.webhooks[-1].event["data"]["object"]["amount_total"] == 3000

    assert client.v1.checkout.sessions.retrieve(session.id).payment_intent == completed.payment_intent
    assert standin.payment_intent(completed.payment_intent)["amount_received"] == 3000

    again = requests.post(session.url, allow_redirects=False, timeout=5)
    assert again.status_code == 409
    assert len(receiver.events) == 1


def test_webhook_signatures_refused_when_wrong(standin, receiver):
    obj = {"id": "cs_test_x", "object": "checkout.session", "status": "complete"}

    assert standin.send_event("checkout.session.completed", obj, secret="whsec_someone_else") == 400
    assert "No signatures found matching" in receiver.refusals[-1]

    stale = int(time.time()) - 301
    assert standin.send_event("checkout.session.completed", obj, timestamp=stale) == 400
    assert "tolerance" in receiver.refusals[-1]

    header = standin.sign(b'{"id": "evt_other", "object": "event"}')
    assert standin.send_event("checkout.session.completed", obj, signature=header) == 400
    assert "No signatures found matching" in receiver.refusals[-1]

    assert standin.send_event("checkout.session.completed", obj, signature="") == 400
    assert "No Stripe-Signature header" in receiver.refusals[-1]

    assert standin.send_event("checkout.session.completed", obj, event_id="evt_test_once") == 200
    first = standin.webhooks[-1]
    # A replay, byte for byte and within the tolerance, passes the signature check: the
    # receiver must recognise the event id itself.
    assert standin.resend("evt_test_once") == 200
    assert receiver.bodies[-1] == receiver.bodies[-2] == first.payload
    assert standin.webhooks[-1].signature == first.signature
    assert standin.resend("evt_test_once", resign=True) == 200
    assert [e.id for e in receiver.events] == ["evt_test_once"] * 3

    # The same checks, directly: a tampered payload with the original header is refused.
    with pytest.raises(stripe.SignatureVerificationError):
        tampered = first.payload.replace(b"complete", b"expired")
        stripe.Webhook.construct_event(tampered, first.signature, standin.webhook_secret)


def test_refunds(client, standin, receiver):
    session = _paid_session(client, standin)
    intent = session.payment_intent
    params = {
        "payment_intent": intent,
        "amount": 1000,
        "metadata": {"return_id": "r1"},
        "reason": "requested_by_customer",
    }

    refund = client.v1.refunds.create(
        params=params,
        options={"idempotency_key": "refund-r1"},
    )
    assert isinstance(refund, stripe.Refund)
    assert refund.id.startswith("re_test_")
    assert (refund.object, refund.status, refund.amount, refund.currency) == (
        "refund",
        "pending",
        1000,
        "usd",
    )
    assert (refund.payment_intent, refund.metadata.to_dict()) == (intent, {"return_id": "r1"})

    same = client.v1.refunds.create(
        params=params,
        options={"idempotency_key": "refund-r1"},
    )
    assert same.id == refund.id

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": intent, "amount": 2001})
    assert (raised.value.code, raised.value.param) == ("amount_too_large", "amount")
    assert "(20.00 USD)" in raised.value.user_message

    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": "pi_test_nope", "amount": 1})
    assert (raised.value.code, raised.value.param) == ("resource_missing", "payment_intent")

    assert standin.settle_refund(refund.id) == 200
    updated = receiver.events[-1]
    assert (updated.type, updated.data.object.id, updated.data.object.status) == (
        "refund.updated",
        refund.id,
        "succeeded",
    )
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"

    rest = client.v1.refunds.create(params={"payment_intent": intent})  # no amount: all that is left
    assert rest.amount == 2000
    standin.settle_refund(rest.id, status="failed")
    assert receiver.events[-1].data.object.failure_reason == "unknown"
    again = client.v1.refunds.create(params={"payment_intent": intent, "amount": 2000})
    assert again.amount == 2000
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create(params={"payment_intent": intent, "amount": 1})
    assert raised.value.code == "charge_already_refunded"


def test_expire_through_the_api_and_directly(client, standin, receiver):
    session = client.v1.checkout.sessions.create(params=SESSION)
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    assert receiver.events == []  # Stripe sends the event later, not during the call
    assert standin.deliver_pending() == [200]
    assert (receiver.events[-1].type, receiver.events[-1].data.object.id) == (
        "checkout.session.expired",
        session.id,
    )
    assert requests.get(session.url, timeout=5).status_code == 409

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)

    other = client.v1.checkout.sessions.create(params=SESSION)
    assert standin.expire(other.id) == 200
    assert receiver.events[-1].data.object.status == "expired"
    with pytest.raises(ValueError):
        standin.complete(other.id)


def test_webhook_handler_may_call_the_api_during_delivery(client, standin, receiver):
    seen = []
    receiver.on_event = lambda event: seen.append(
        client.v1.checkout.sessions.retrieve(event.data.object.id).status
    )
    session = client.v1.checkout.sessions.create(params=SESSION)
    assert standin.complete(session.id) == 200
    assert seen == ["complete"]


def test_library_retries_a_failure_with_the_same_key(standin):
    standin.fail_next(500)
    retrying = standin.client(max_network_retries=1)
    session = retrying.v1.checkout.sessions.create(params=SESSION)

    failed, succeeded = standin.requests
    assert (failed.status, succeeded.status) == (500, 200)
    assert failed.idempotency_key == succeeded.idempotency_key
    assert standin.session(session.id)["status"] == "open"

    standin.fail_next(500)
    with pytest.raises(stripe.APIError):
        standin.client().v1.checkout.sessions.create(params=SESSION)  # StripeClient: no retries by default
