"""A stand-in for Stripe on 127.0.0.1: the REST API the ``stripe`` library calls (Checkout
Sessions and Refunds), the hosted Checkout page a shopper pays on, and signed webhooks, so
that tests drive the real library and the shop's webhook endpoint without the internet.

    standin = StripeStandIn(webhook_url=shop_url + "/payments/stripe/webhook").start()
    client = standin.client()   # stripe.StripeClient(api_key, base_addresses={"api": base_url})
    session = client.v1.checkout.sessions.create(params={...}, options={"idempotency_key": "k"})
    standin.complete(session.id)      # what the Pay button does: paid, checkout.session.completed
    standin.requests[-1].params       # what the shop sent, as a nested dict of strings
    standin.webhooks[-1].status       # how the shop answered the event
    standin.stop()

What it keeps of Stripe's behaviour:

- Bearer API key checked (401 otherwise); errors in Stripe's shape, ``{"error": {"type",
  "message", "code", "param"}}`` with 4xx, which the library raises as its own exceptions.
- Form-encoded parameters (``line_items[0][price_data][unit_amount]=1250``) are parsed into
  nested dicts and lists; top-level names the library's own parameter types do not know
  are refused, as Stripe refuses them ("Received unknown parameter").
- ``Idempotency-Key`` on POST: the same key with the same method, path and parameters
  answers the first (successful) response again, with ``Idempotent-Replayed: true``; the
  same key with other parameters or another path is a 400 ``idempotency_error``. Error
  responses are not kept, so a retry after an error runs again.
- Webhook events are pretty-printed JSON (as Stripe sends them: a receiver must verify the
  raw bytes, not re-serialised JSON) signed ``Stripe-Signature: t=<unix>,v1=<hex>``, where
  ``v1`` is HMAC-SHA256 of ``"<t>.<payload>"`` keyed with the webhook secret. They are
  posted synchronously; redirects are not followed (the status is what the shop answered).

Units: amounts are integers in the currency's minor unit (cents), currencies lower-case
ISO codes, timestamps Unix seconds. What is not modelled is refused with a 400 whose
message starts with "stand-in:" (``price`` ids, ``mode`` other than ``payment``,
``expand``, refunds by ``charge``) rather than answered wrongly.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import html
import http.client
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import stripe
from stripe.params import RefundCreateParams
from stripe.params.checkout import SessionCreateParams
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

#: The API version the library sends (``Stripe-Version``) and events carry.
API_VERSION = stripe.api_version
DEFAULT_API_KEY = "sk_test_standin_0123456789abcdef"
DEFAULT_WEBHOOK_SECRET = "whsec_test_standin_0123456789abcdef"
SESSION_LIFETIME = 24 * 3600  # Stripe's default expires_at: 24 hours after creation
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}  # fmt: skip
REFUND_REASONS = {"duplicate", "fraudulent", "requested_by_customer"}
REFUND_STATUSES = {"pending", "requires_action", "succeeded", "failed", "canceled"}
_OPTIONS = set(stripe.RequestOptions.__annotations__)
SESSION_PARAMS = frozenset(SessionCreateParams.__annotations__) - _OPTIONS
REFUND_PARAMS = frozenset(RefundCreateParams.__annotations__) - _OPTIONS


@dataclass
class ApiCall:
    """One REST call the stand-in received.

    ``params`` is the form body (POST) or query string (GET) as a nested dict: bracketed
    keys become dicts, numeric indexes lists, every leaf the string that was sent
    (``{"line_items": [{"price_data": {"unit_amount": "1250", ...}, "quantity": "2"}]}``).
    ``status`` is what was answered; ``replayed`` is true when an earlier response was
    answered again for the same ``idempotency_key``.
    """

    method: str
    path: str
    params: dict
    headers: dict
    idempotency_key: str | None
    status: int = 0
    replayed: bool = False


@dataclass
class Delivery:
    """One webhook POST: the event's ``event_id`` and ``type``, the exact ``payload`` bytes
    and ``signature`` header sent, and the shop's answer: ``status`` (0 when nothing
    answered, with ``error`` saying why) and the first 2,000 characters of its ``body``."""

    event_id: str
    type: str
    payload: bytes
    signature: str
    status: int = 0
    body: str = ""
    error: str | None = None

    @property
    def event(self) -> dict:
        """The event as sent, parsed."""
        return json.loads(self.payload)


class StripeError(Exception):
    """An error answer in Stripe's shape: ``status`` (4xx/5xx), ``type`` (for instance
    ``invalid_request_error``, ``idempotency_error``, ``api_error``), ``message``, and
    optional ``code`` and ``param``."""

    def __init__(
        self, status: int, message: str, *, type: str = "invalid_request_error", code=None, param=None
    ):
        super().__init__(message)
        self.status, self.type, self.message, self.code, self.param = status, type, message, code, param

    def body(self) -> dict:
        """``{"error": {...}}`` as Stripe answers it."""
        error = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        return {"error": error}


# --- form parameters ----------------------------------------------------------------------


def parse_params(pairs) -> dict:
    """Stripe's form encoding to a nested dict: ``a[b][0][c]=v`` becomes
    ``{"a": {"b": [{"c": "v"}]}}``; ``a[]=v`` appends. Leaves stay strings."""
    root: dict = {}
    for key, value in pairs:
        parts = re.findall(r"\[([^\]]*)\]", key)
        node = root
        names = [key.split("[", 1)[0], *parts]
        for name, _child in zip(names, names[1:]):
            node = node.setdefault(name if name else str(len(node)), {})
        last = names[-1]
        node[last if last else str(len(node))] = value
    return _listify(root)


def _listify(node):
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value) for key, value in node.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


def _integer(value, param: str, minimum: int = 0) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StripeError(400, f"Invalid integer: {value}", param=param) from None
    if number < minimum:
        raise StripeError(400, f"This value must be greater than or equal to {minimum}.", param=param)
    return number


def _check_known(params: dict, known: frozenset) -> None:
    for name in params:
        if name not in known:
            raise StripeError(
                400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name
            )
    if params.get("expand"):
        raise StripeError(400, "stand-in: expand is not supported", param="expand")


def _metadata(params: dict, param: str = "metadata") -> dict:
    value = params.get(param) or {}
    if not isinstance(value, dict):
        raise StripeError(400, "Invalid object", param=param)
    return {str(key): str(item) for key, item in value.items()}


def money(amount: int, currency: str) -> str:
    """``1250, "usd"`` -> ``"12.50 USD"`` (``"1250 JPY"`` for zero-decimal currencies)."""
    if currency in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount // 100}.{amount % 100:02d} {currency.upper()}"


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


# --- the stand-in ---------------------------------------------------------------------------


class StripeStandIn:
    """Stripe's REST API, hosted Checkout page and webhooks on ``127.0.0.1:<free port>``.

    ``webhook_url`` is where events are posted (it may be set later, before the first
    event); ``webhook_secret`` signs them; ``api_key`` is the only key the API accepts.
    ``requests`` (:class:`ApiCall`) and ``webhooks`` (:class:`Delivery`) record, in order,
    every REST call received and every event posted. All state is behind one lock; no
    event is posted while it is held, so the shop may call the API from its webhook
    handler.
    """

    def __init__(
        self,
        webhook_url: str | None = None,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        api_key: str = DEFAULT_API_KEY,
    ):
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.api_key = api_key
        self.requests: list[ApiCall] = []
        self.webhooks: list[Delivery] = []
        self.port = 0
        self._lock = threading.Lock()
        self._sessions: dict[str, dict] = {}
        self._intents: dict[str, dict] = {}
        self._refunds: dict[str, dict] = {}
        self._idempotent: dict[str, tuple[tuple, int, dict]] = {}
        self._sent: dict[str, tuple[str, bytes, str]] = {}
        self._pending: list[tuple[str, dict]] = []
        self._faults: list[StripeError] = []
        self._server = None
        self._thread: threading.Thread | None = None
        self._urls = Map(
            [
                Rule("/v1/checkout/sessions", methods=["POST"], endpoint="create_session"),
                Rule("/v1/checkout/sessions/<sid>", methods=["GET"], endpoint="get_session"),
                Rule("/v1/checkout/sessions/<sid>/expire", methods=["POST"], endpoint="expire_session"),
                Rule("/v1/refunds", methods=["POST"], endpoint="create_refund"),
                Rule("/v1/refunds/<rid>", methods=["GET"], endpoint="get_refund"),
                Rule("/pay/<sid>", methods=["GET", "POST"], endpoint="pay"),
            ]
        )

    # --- life cycle -------------------------------------------------------------------

    def start(self) -> StripeStandIn:
        """Serve on a free loopback port, one thread per request."""
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="stripe-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: the library's ``base_addresses["api"]``."""
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kwargs) -> stripe.StripeClient:
        """A ``stripe.StripeClient`` on this stand-in (``kwargs`` go to the client)."""
        return stripe.StripeClient(self.api_key, base_addresses={"api": self.base_url}, **kwargs)

    # --- state for assertions ---------------------------------------------------------

    def session(self, session_id: str) -> dict:
        """A copy of a Checkout Session as the API would answer it."""
        with self._lock:
            return copy.deepcopy(self._get(self._sessions, session_id, "checkout.session"))

    def payment_intent(self, intent_id: str) -> dict:
        """A copy of a PaymentIntent made by paying a session (``amount`` captured)."""
        with self._lock:
            return copy.deepcopy(self._get(self._intents, intent_id, "payment_intent"))

    def refund(self, refund_id: str) -> dict:
        """A copy of a Refund as the API would answer it."""
        with self._lock:
            return copy.deepcopy(self._get(self._refunds, refund_id, "refund"))

    def fail_next(self, status: int = 500, count: int = 1, *, type: str = "api_error") -> None:
        """Answer the next ``count`` REST calls with an error (``status``, ``type``) before
        anything else is done, as a failure in front of the API would: nothing changes and
        no idempotent result is kept, so a retry with the same key runs for real."""
        with self._lock:
            self._faults.extend(
                StripeError(status, "stand-in: injected failure", type=type) for _ in range(count)
            )

    # --- what happens on Stripe's side ------------------------------------------------

    def complete(self, session_id: str) -> int:
        """Pay an open session, as the hosted page's Pay button does: ``status`` becomes
        ``complete``, ``payment_status`` ``paid``, a PaymentIntent ``pi_test_...`` captures
        ``amount_total``, and ``checkout.session.completed`` is posted. Returns the shop's
        answer status.

        Raises:
            ValueError: the session is not open.
            StripeError: there is no such session.
        """
        with self._lock:
            session = self._complete(session_id)
        return self.send_event("checkout.session.completed", session)

    def expire(self, session_id: str) -> int:
        """Expire an open session (``status: expired``) and post ``checkout.session.expired``;
        returns the shop's answer status.

        Raises:
            ValueError: the session is not open.
            StripeError: there is no such session.
        """
        with self._lock:
            session = self._expire(session_id)
        return self.send_event("checkout.session.expired", session)

    def settle_refund(self, refund_id: str, status: str = "succeeded") -> int:
        """Move a refund to ``status`` (``succeeded``, ``failed``, ``canceled``; a failed or
        canceled refund gives its amount back to the payment) and post ``refund.updated``
        with the refund as ``data.object``; returns the shop's answer status."""
        if status not in REFUND_STATUSES:
            raise ValueError(f"unknown refund status {status!r}")
        with self._lock:
            refund = self._get(self._refunds, refund_id, "refund")
            refund["status"] = status
            refund["failure_reason"] = "unknown" if status == "failed" else None
            refund = copy.deepcopy(refund)
        return self.send_event("refund.updated", refund)

    def deliver_pending(self) -> list[int]:
        """Post the events that API calls caused (``checkout.session.expired`` after
        ``POST /v1/checkout/sessions/<id>/expire``): Stripe sends those later, not during
        the call. Returns the shop's answer statuses, in order."""
        with self._lock:
            pending, self._pending = self._pending, []
        return [self.send_event(kind, obj) for kind, obj in pending]

    # --- events -------------------------------------------------------------------------

    def sign(self, payload: bytes, *, timestamp: int | None = None, secret: str | None = None) -> str:
        """The ``Stripe-Signature`` header for ``payload``: ``t=<timestamp>,v1=<hex>``."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        key = (self.webhook_secret if secret is None else secret).encode()
        digest = hmac.new(key, f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={digest}"

    def send_event(
        self,
        type: str,
        obj: dict,
        *,
        event_id: str | None = None,
        created: int | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
        signature: str | None = None,
    ) -> int:
        """Post an event ``{"id": "evt_...", "object": "event", "type": type, "created",
        "data": {"object": obj}, "livemode": false, "api_version", ...}`` to ``webhook_url``
        and return the shop's answer status (0: no answer).

        ``timestamp`` signs as of another time (a stale event), ``secret`` signs with another
        secret, ``signature`` is sent as the header verbatim (not signed at all).
        """
        event_id = event_id or _new_id("evt_test")
        event = {
            "id": event_id,
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()) if created is None else created,
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }
        payload = json.dumps(event, indent=2).encode()
        header = (
            signature if signature is not None else self.sign(payload, timestamp=timestamp, secret=secret)
        )
        with self._lock:
            self._sent[event_id] = (type, payload, header)
        return self._post(event_id, type, payload, header).status

    def resend(self, event_id: str, *, resign: bool = False) -> int:
        """Post an earlier event again. By default byte for byte, signature header included
        (a replay); ``resign=True`` signs the same bytes with the current time, as Stripe
        does when it retries a delivery. Returns the shop's answer status."""
        with self._lock:
            type, payload, header = self._sent[event_id]
        if resign:
            header = self.sign(payload)
        return self._post(event_id, type, payload, header).status

    def _post(self, event_id: str, type: str, payload: bytes, header: str) -> Delivery:
        if not self.webhook_url:
            raise RuntimeError("StripeStandIn.webhook_url is not set")
        delivery = Delivery(event_id, type, payload, header)
        url = urlsplit(self.webhook_url)
        conn_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        conn = conn_class(url.netloc, timeout=30)
        headers = {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header}
        headers["User-Agent"] = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
        try:
            conn.request("POST", url.path + (f"?{url.query}" if url.query else ""), payload, headers)
            answer = conn.getresponse()
            delivery.status = answer.status
            delivery.body = answer.read().decode("utf-8", "replace")[:2000]
        except OSError as exc:
            delivery.error = repr(exc)
        finally:
            conn.close()
        with self._lock:
            self.webhooks.append(delivery)
        return delivery

    # --- HTTP ---------------------------------------------------------------------------

    @Request.application
    def _wsgi(self, request: Request) -> Response:
        try:
            endpoint, args = self._urls.bind_to_environ(request.environ).match()
        except HTTPException:
            if request.path.startswith("/v1/"):
                return self._api(request, None, {})
            return Response("Not found", status=404, mimetype="text/plain")
        if endpoint == "pay":
            return self._pay(request, args["sid"])
        return self._api(request, endpoint, args)

    def _api(self, request: Request, endpoint: str | None, args: dict) -> Response:
        source = request.form if request.method == "POST" else request.args
        call = ApiCall(
            method=request.method,
            path=request.path,
            params=parse_params(source.items(multi=True)),
            headers=dict(request.headers.items()),
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        with self._lock:
            self.requests.append(call)
            try:
                status, body = self._answer(call, endpoint, args)
            except StripeError as exc:
                status, body = exc.status, exc.body()
            call.status = status
        response = Response(json.dumps(body, indent=2), status=status, mimetype="application/json")
        response.headers["Request-Id"] = _new_id("req")
        response.headers["Stripe-Version"] = request.headers.get("Stripe-Version", API_VERSION)
        if call.idempotency_key:
            response.headers["Idempotency-Key"] = call.idempotency_key
        if call.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    def _answer(self, call: ApiCall, endpoint: str | None, args: dict) -> tuple[int, dict]:
        """Authenticate, then replay or run the endpoint (under the lock)."""
        self._authenticate(call.headers.get("Authorization", ""))
        if self._faults:
            raise self._faults.pop(0)
        if endpoint is None:
            raise StripeError(404, f"Unrecognized request URL ({call.method}: {call.path}).")
        key = call.idempotency_key if call.method == "POST" else None
        fingerprint = (call.method, call.path, call.params)
        if key and key in self._idempotent:
            first, status, body = self._idempotent[key]
            self._check_same_request(key, first, fingerprint)
            call.replayed = True
            return status, copy.deepcopy(body)
        body = getattr(self, f"_api_{endpoint}")(call.params, **args)
        if key:
            self._idempotent[key] = (fingerprint, 200, copy.deepcopy(body))
        return 200, body

    def _authenticate(self, authorization: str) -> None:
        if not authorization.startswith("Bearer "):
            raise StripeError(401, "You did not provide an API key.")
        given = authorization[len("Bearer ") :]
        if not hmac.compare_digest(given, self.api_key):
            raise StripeError(401, f"Invalid API Key provided: {given[:8]}****{given[-4:]}")

    @staticmethod
    def _check_same_request(key: str, first: tuple, now: tuple) -> None:
        if first[:2] != now[:2]:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used for the same endpoint they were first "
                f"used for ('{first[0]} {first[1]}' vs '{now[0]} {now[1]}'). Try using a key other "
                f"than '{key}' if you meant to execute a different request.",
                type="idempotency_error",
            )
        if first[2] != now[2]:
            raise StripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they were "
                f"first used with. Try using a key other than '{key}' if you meant to execute a "
                "different request.",
                type="idempotency_error",
            )

    @staticmethod
    def _get(table: dict, object_id: str, kind: str) -> dict:
        try:
            return table[object_id]
        except KeyError:
            raise StripeError(
                404, f"No such {kind}: '{object_id}'", code="resource_missing", param="id"
            ) from None

    # --- Checkout Sessions --------------------------------------------------------------

    def _api_create_session(self, params: dict) -> dict:
        _check_known(params, SESSION_PARAMS)
        mode = params.get("mode", "payment")
        if mode != "payment":
            raise StripeError(400, "stand-in: only mode=payment is supported", param="mode")
        if params.get("ui_mode", "hosted") != "hosted":
            raise StripeError(400, "stand-in: only ui_mode=hosted is supported", param="ui_mode")
        amount, currency = self._line_items(params.get("line_items"))
        now = int(time.time())
        session_id = _new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "created": now,
            "currency": currency,
            "customer": None,
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "expires_at": _integer(params.get("expires_at", now + SESSION_LIFETIME), "expires_at"),
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": _metadata(params),
            "mode": mode,
            "payment_intent": None,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params.get("success_url"),
            "ui_mode": "hosted",
            "url": f"{self.base_url}/pay/{session_id}",
        }
        intent_data = params.get("payment_intent_data") or {}
        session["_intent_metadata"] = _metadata(intent_data) if isinstance(intent_data, dict) else {}
        self._sessions[session_id] = session
        return self._public(session)

    @staticmethod
    def _line_items(items) -> tuple[int, str]:
        """Total (minor units) and currency of ``line_items`` given with ``price_data``."""
        if not isinstance(items, list) or not items:
            raise StripeError(
                400, "Missing required param: line_items.", code="parameter_missing", param="line_items"
            )
        total, currencies = 0, set()
        for i, item in enumerate(items):
            where = f"line_items[{i}]"
            price = item.get("price_data") if isinstance(item, dict) else None
            if not isinstance(price, dict):
                raise StripeError(
                    400, f"stand-in: {where} needs price_data (price ids are not supported)", param=where
                )
            if "currency" not in price or "unit_amount" not in price:
                raise StripeError(
                    400,
                    f"Missing required param: {where}[price_data][unit_amount] or [currency].",
                    param=where,
                )
            if not (price.get("product_data") or {}).get("name") and not price.get("product"):
                raise StripeError(
                    400, f"Missing required param: {where}[price_data][product_data][name].", param=where
                )
            unit = _integer(price["unit_amount"], f"{where}[price_data][unit_amount]")
            total += unit * _integer(item.get("quantity"), f"{where}[quantity]", minimum=1)
            currencies.add(price["currency"].lower())
        if len(currencies) != 1:
            raise StripeError(400, "All line items must use the same currency.", param="line_items")
        return total, currencies.pop()

    @staticmethod
    def _public(obj: dict) -> dict:
        return {key: copy.deepcopy(value) for key, value in obj.items() if not key.startswith("_")}

    def _api_get_session(self, params: dict, sid: str) -> dict:
        _check_known(params, frozenset({"expand"}))
        return self._public(self._get(self._sessions, sid, "checkout.session"))

    def _api_expire_session(self, params: dict, sid: str) -> dict:
        _check_known(params, frozenset({"expand"}))
        try:
            session = self._expire(sid)
        except ValueError as exc:
            raise StripeError(400, str(exc), code="checkout_session_not_open") from None
        self._pending.append(("checkout.session.expired", copy.deepcopy(session)))
        return session

    def _open_session(self, session_id: str) -> dict:
        session = self._get(self._sessions, session_id, "checkout.session")
        if session["status"] != "open":
            raise ValueError(
                f'Only Checkout Sessions with a status in ["open"] can be changed; {session_id} is {session["status"]}.'
            )
        return session

    def _expire(self, session_id: str) -> dict:
        session = self._open_session(session_id)
        session["status"] = "expired"
        return self._public(session)

    def _complete(self, session_id: str) -> dict:
        session = self._open_session(session_id)
        intent_id = _new_id("pi_test")
        self._intents[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": session["amount_total"],
            "currency": session["currency"],
            "latest_charge": _new_id("ch_test"),
            "metadata": dict(session["_intent_metadata"]),
            "status": "succeeded",
            "created": int(time.time()),
            "livemode": False,
        }
        email = session["customer_email"] or "shopper@example.com"
        session["customer_details"] = {"email": email, "name": "Test Shopper"}
        session.update(status="complete", payment_status="paid", payment_intent=intent_id)
        return self._public(session)

    # --- Refunds ------------------------------------------------------------------------

    def _api_create_refund(self, params: dict) -> dict:
        _check_known(params, REFUND_PARAMS)
        if params.get("charge"):
            raise StripeError(400, "stand-in: refund by payment_intent, not charge", param="charge")
        intent_id = params.get("payment_intent")
        if not intent_id:
            raise StripeError(
                400,
                "One of the following params should be provided for this request: payment_intent or charge.",
            )
        intent = self._intents.get(intent_id)
        if intent is None:
            raise StripeError(
                400, f"No such payment_intent: '{intent_id}'", code="resource_missing", param="payment_intent"
            )
        reason = params.get("reason")
        if reason is not None and reason not in REFUND_REASONS:
            raise StripeError(
                400, f"Invalid reason: must be one of {', '.join(sorted(REFUND_REASONS))}", param="reason"
            )
        amount = self._refund_amount(intent, params.get("amount"))
        refund_id = _new_id("re_test")
        self._refunds[refund_id] = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": intent["latest_charge"],
            "created": int(time.time()),
            "currency": intent["currency"],
            "failure_reason": None,
            "metadata": _metadata(params),
            "payment_intent": intent_id,
            "reason": reason,
            "receipt_number": None,
            "status": "pending",
        }
        return copy.deepcopy(self._refunds[refund_id])

    def _refund_amount(self, intent: dict, asked) -> int:
        """``asked`` (or all that is left), refused above what is left of the payment."""
        taken = sum(
            r["amount"]
            for r in self._refunds.values()
            if r["payment_intent"] == intent["id"] and r["status"] not in ("failed", "canceled")
        )
        left = intent["amount_received"] - taken
        if left <= 0:
            raise StripeError(
                400,
                f"Charge {intent['latest_charge']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = left if asked is None else _integer(asked, "amount", minimum=1)
        if amount > left:
            raise StripeError(
                400,
                f"Refund amount ({money(amount, intent['currency'])}) is greater than unrefunded amount "
                f"on charge ({money(left, intent['currency'])})",
                code="amount_too_large",
                param="amount",
            )
        return amount

    def _api_get_refund(self, params: dict, rid: str) -> dict:
        _check_known(params, frozenset({"expand"}))
        return copy.deepcopy(self._get(self._refunds, rid, "refund"))

    # --- the hosted page ----------------------------------------------------------------

    def _pay(self, request: Request, session_id: str) -> Response:
        with self._lock:
            session = self._sessions.get(session_id)
            session = self._public(session) if session else None
        if session is None:
            return self._page("No such Checkout Session.", status=404)
        if session["status"] != "open":
            return self._page(f"This Checkout Session is {session['status']}; nothing to pay.", status=409)
        if request.method == "GET":
            return self._page(self._pay_form(session))
        try:
            self.complete(session_id)
        except ValueError:  # paid or expired by another request meanwhile
            return self._page("This Checkout Session is no longer open.", status=409)
        if not session["success_url"]:
            return self._page("Paid. You may close this page.")
        target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        return Response(status=303, headers={"Location": target})

    @staticmethod
    def _pay_form(session: dict) -> str:
        amount = html.escape(money(session["amount_total"], session["currency"]))
        cancel = ""
        if session["cancel_url"]:
            cancel = f'<a id="cancel" href="{html.escape(session["cancel_url"])}">Cancel</a>'
        return (
            f'<p>Pay <strong id="amount">{amount}</strong> '
            f'(<span id="currency">{html.escape(session["currency"].upper())}</span>)</p>'
            f'<form method="post"><button id="pay" type="submit">Pay</button></form>{cancel}'
        )

    @staticmethod
    def _page(body: str, status: int = 200) -> Response:
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Stand-in for Stripe Checkout</title></head>"
            f"<body><h1>Stand-in for Stripe Checkout</h1>{body}</body></html>"
        )
        return Response(page, status=status, mimetype="text/html")
