"""Refunds as services: what each refund gives back (figures worked out by hand), stock put
back exactly once, the order's status, what is left to refund, and card refunds that wait
for Stripe's word."""

from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest
from sqlalchemy import func, select

from shop.catalog.models import StockMovement
from shop.exceptions import Conflict, InvalidTransition, ValidationFailed
from shop.orders import cart as carts
from shop.orders import services
from shop.orders.checkout import place_order
from shop.orders.models import Order, OrderEvent
from shop.payments import refunds
from shop.payments.models import Refund
from shop.payments.stripe_gateway import GatewayError
from tests.factories import ADDRESS, make_product, make_user, stock_and_ledger
from tests.refund_factories import make_card_payment, make_paid_order

# The order every test starts from (tax 10 % added on top, figures by hand):
#   A: 3 × $20.00 = $60.00, less $3.00 discount = $57.00, + $5.70 tax -> $62.70 ($20.90 a unit)
#   B: 1 × $9.99, less $0.50 discount = $9.49, + $0.95 tax            -> $10.44
#   shipping $5.00; total 69.99 - 3.50 + 5.00 + 6.65 = $78.14
TOTAL = 7814


@pytest.fixture
def shop(db):
    staff = make_user(role="staff")
    a = make_product(name="Alpha", stock=10)
    b = make_product(name="Beta", stock=5)
    db.session.commit()
    return {"staff": staff, "a": a, "b": b}


def _order(db, shop, provider="manual", status="paid") -> Order:
    order = make_paid_order(
        [(shop["a"], 2000, 3, 300, 570), (shop["b"], 999, 1, 50, 95)],
        provider=provider,
        status=status,
        shipping_cents=500,
    )
    db.session.commit()
    assert order.total_cents == TOTAL
    return order


def _line(order, product):
    return next(ln for ln in order.lines if ln.product_id == product.id)


def _refund_moves(db, product_id=None):
    stmt = select(StockMovement.product_id, StockMovement.delta, StockMovement.order_id).where(
        StockMovement.reason == "refund"
    )
    if product_id is not None:
        stmt = stmt.where(StockMovement.product_id == product_id)
    db.session.expire_all()
    return db.session.execute(stmt.order_by(StockMovement.id)).all()


def _status(db, order_id):
    db.session.expire_all()
    return db.session.get(Order, order_id).status


def _events(db, order_id):
    db.session.expire_all()
    return db.session.execute(
        select(OrderEvent.from_status, OrderEvent.to_status, OrderEvent.note)
        .where(OrderEvent.order_id == order_id)
        .order_by(OrderEvent.id)
    ).all()[1:]  # after "placed"


def test_a_partial_line_refund_gives_back_what_the_units_cost_and_restocks_once(db, shop):
    order = _order(db, shop)
    line_a = _line(order, shop["a"])
    refund = refunds.refund_order(
        order.id, lines=[(line_a.id, 1)], restock=True, actor_id=shop["staff"].id, reason="Damaged box"
    )
    db.session.commit()

    assert (refund.amount_cents, refund.status, refund.currency, refund.payment_id) == (
        2090,
        "succeeded",
        "USD",
        None,
    )
    assert refund.lines == [{"line_id": line_a.id, "sku": shop["a"].sku, "quantity": 1, "amount_cents": 2090}]
    assert _status(db, order.id) == "partially_refunded"
    assert stock_and_ledger(shop["a"].id) == (11, 11)
    assert stock_and_ledger(shop["b"].id) == (5, 5)
    assert _refund_moves(db) == [(shop["a"].id, 1, order.id)]
    assert _events(db, order.id) == [
        (
            "paid",
            "partially_refunded",
            f"Refund #{refund.id} of $20.90: 1 × {shop['a'].sku}; items back in stock. Reason: Damaged box",
        )
    ]
    left = refunds.refundable(services.get_order(order.id))
    assert (left["paid_cents"], left["refunded_cents"], left["pending_cents"], left["left_cents"]) == (
        TOTAL,
        2090,
        0,
        TOTAL - 2090,
    )
    assert [(ln["sku"], ln["refunded_quantity"], ln["left_quantity"]) for ln in left["lines"]] == [
        (shop["a"].sku, 1, 2),
        (shop["b"].sku, 0, 1),
    ]


def test_a_refund_without_restock_leaves_the_stock_alone(db, shop):
    order = _order(db, shop)
    refund = refunds.refund_order(
        order.id, lines=[(_line(order, shop["b"]).id, 1)], restock=False, actor_id=shop["staff"].id
    )
    db.session.commit()
    assert refund.amount_cents == 1044
    assert stock_and_ledger(shop["b"].id) == (5, 5)
    assert _refund_moves(db) == []
    assert _status(db, order.id) == "partially_refunded"


def test_refunding_everything_with_the_shipping_moves_the_order_to_refunded(db, shop):
    order = _order(db, shop)
    la, lb = _line(order, shop["a"]).id, _line(order, shop["b"]).id
    first = refunds.refund_order(order.id, lines=[(la, 2)], restock=True, actor_id=shop["staff"].id)
    db.session.commit()
    # the second refund: the last unit of A (62.70 - 41.80), B and the shipping
    second = refunds.refund_order(
        order.id, lines=[(lb, 1), (la, 1)], extra_cents=500, restock=True, actor_id=shop["staff"].id
    )
    db.session.commit()

    assert (first.amount_cents, second.amount_cents) == (4180, 2090 + 1044 + 500)
    assert first.amount_cents + second.amount_cents == TOTAL
    assert [item["line_id"] for item in second.lines] == [la, lb]  # in the order's line order
    assert _status(db, order.id) == "refunded"
    assert [(e[0], e[1]) for e in _events(db, order.id)] == [
        ("paid", "partially_refunded"),
        ("partially_refunded", "refunded"),
    ]
    assert _events(db, order.id)[1][2].startswith(f"Refund #{second.id} of $36.34: 1 × {shop['a'].sku}, 1 × ")
    assert "$5.00 extra" in _events(db, order.id)[1][2]
    assert stock_and_ledger(shop["a"].id) == (13, 13) and stock_and_ledger(shop["b"].id) == (6, 6)
    assert sorted((p, d) for p, d, _ in _refund_moves(db)) == sorted(
        [(shop["a"].id, 2), (shop["a"].id, 1), (shop["b"].id, 1)]
    )

    with pytest.raises(InvalidTransition) as refused:
        refunds.refund_order(order.id, lines=None, extra_cents=1, restock=False, actor_id=shop["staff"].id)
    assert refused.value.status == 409
    assert "already refunded in full" in refused.value.detail


def test_a_later_partial_refund_keeps_the_status_and_notes_the_refund(db, shop):
    order = _order(db, shop)
    refunds.refund_order(order.id, lines=None, extra_cents=500, restock=False, actor_id=shop["staff"].id)
    db.session.commit()
    second = refunds.refund_order(
        order.id, lines=None, extra_cents=250, restock=True, actor_id=shop["staff"].id, reason="Late"
    )
    db.session.commit()
    assert _events(db, order.id)[-1] == (
        "partially_refunded",
        "partially_refunded",
        f"Refund #{second.id} of $2.50: $2.50 amount. Reason: Late",
    )
    assert _refund_moves(db) == []  # restock of an amount alone moves nothing


def test_a_line_cannot_be_refunded_beyond_its_units(db, shop):
    order = _order(db, shop)
    la = _line(order, shop["a"]).id
    refunds.refund_order(order.id, lines=[(la, 2)], restock=True, actor_id=shop["staff"].id)
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        refunds.refund_order(order.id, lines=[(la, 1), (la, 1)], restock=True, actor_id=shop["staff"].id)
    db.session.rollback()
    assert refused.value.status == 409
    assert refused.value.errors == {f"lines.{la}": [f"{shop['a'].sku}: only 1 of 3 left to refund."]}
    assert db.session.scalar(select(func.count(Refund.id))) == 1
    assert stock_and_ledger(shop["a"].id) == (12, 12)


def test_an_amount_alone_is_refunded_without_lines(db, shop):
    order = _order(db, shop)
    refund = refunds.refund_order(order.id, lines=[], extra_cents=1234, restock=False, actor_id=None)
    db.session.commit()
    assert (refund.amount_cents, refund.lines, refund.status) == (1234, [], "succeeded")
    assert refunds.refundable(services.get_order(order.id))["left_cents"] == TOTAL - 1234


def test_never_more_than_was_paid(db, shop):
    order = _order(db, shop)
    with pytest.raises(Conflict) as refused:
        refunds.refund_order(order.id, lines=None, extra_cents=TOTAL + 1, restock=False, actor_id=None)
    db.session.rollback()
    assert refused.value.detail == (
        "Refunding $78.15 would give back more than was paid: $78.14 paid, $0.00 already refunded "
        "or on its way back, so at most $78.14 is left to refund."
    )
    refunds.refund_order(order.id, lines=None, extra_cents=7000, restock=False, actor_id=None)
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        # all of B (10.44) is more than the 8.14 left
        refunds.refund_order(order.id, lines=[(_line(order, shop["b"]).id, 1)], restock=True, actor_id=None)
    db.session.rollback()
    assert "at most $8.14 is left" in refused.value.detail
    assert refused.value.errors == {"amount_cents": ["At most $8.14."]}
    assert db.session.scalar(select(func.coalesce(func.sum(Refund.amount_cents), 0))) == 7000
    assert stock_and_ledger(shop["b"].id) == (5, 5)


def test_a_line_refunded_unit_by_unit_adds_up_to_what_it_cost(db, shop):
    # $10.00 for 3 units: 333.33 a unit; half-up on the running share: 333, 667, 1000
    order = make_paid_order([(shop["a"], 500, 3, 500, 0)])
    db.session.commit()
    la = order.lines[0].id
    amounts = []
    for _ in range(3):
        amounts.append(
            refunds.refund_order(order.id, lines=[(la, 1)], restock=False, actor_id=None).amount_cents
        )
        db.session.commit()
    assert amounts == [333, 334, 333]
    assert _status(db, order.id) == "refunded"


def test_a_half_cent_rounds_up(db, shop):
    order = make_paid_order([(shop["a"], 501, 2, 1, 0)])  # $10.01 for 2 units: 500.5 a unit
    db.session.commit()
    first = refunds.refund_order(order.id, lines=[(order.lines[0].id, 1)], restock=False, actor_id=None)
    assert first.amount_cents == 501


def test_tax_included_in_the_prices_is_not_added_again(db, shop):
    # EU style: 2 × €12.00 with €4.00 VAT inside
    order = make_paid_order([(shop["a"], 1200, 2, 0, 400)], prices_include_tax=True)
    db.session.commit()
    assert order.total_cents == 2400
    refund = refunds.refund_order(order.id, lines=[(order.lines[0].id, 1)], restock=False, actor_id=None)
    assert refund.amount_cents == 1200


@pytest.mark.parametrize(
    "status,words",
    [
        ("pending_payment", "has not been paid yet"),
        ("cancelled", "is cancelled"),
    ],
)
def test_an_unpaid_or_cancelled_order_cannot_be_refunded(db, shop, status, words):
    order = _order(db, shop, status=status)
    with pytest.raises(InvalidTransition) as refused:
        refunds.refund_order(order.id, lines=None, extra_cents=100, restock=False, actor_id=None)
    assert refused.value.status == 409 and words in refused.value.detail
    assert order.number in refused.value.detail


@pytest.mark.parametrize("status", ["shipped", "delivered"])
def test_a_shipped_or_delivered_order_can_be_refunded(db, shop, status):
    order = _order(db, shop, status=status)
    refunds.refund_order(order.id, lines=None, extra_cents=100, restock=False, actor_id=None)
    db.session.commit()
    assert _status(db, order.id) == "partially_refunded"


def test_refund_requests_that_make_no_sense_are_refused(db, shop):
    order = _order(db, shop)
    other = make_paid_order([(shop["b"], 100, 1, 0, 0)])
    db.session.commit()
    cases = [
        ({"lines": None, "extra_cents": 0}, {"lines"}),
        ({"lines": [(other.lines[0].id, 1)]}, {f"lines.{other.lines[0].id}"}),
        ({"lines": [(order.lines[0].id, -1)]}, {f"lines.{order.lines[0].id}"}),
        ({"lines": None, "extra_cents": -5}, {"extra_cents"}),
    ]
    for kwargs, fields in cases:
        with pytest.raises(ValidationFailed) as refused:
            refunds.refund_order(order.id, restock=False, actor_id=None, **kwargs)
        db.session.rollback()
        assert refused.value.status == 422 and set(refused.value.errors) == fields, kwargs
    assert db.session.scalar(select(func.count(Refund.id))) == 0


def test_an_order_placed_and_marked_paid_by_staff_is_refunded_at_once(db, shop):
    shopper = make_user()
    db.session.commit()
    carts.add_item(carts.get_user_cart(shopper.id, create=True), shop["a"].sku, 2)
    order = place_order(
        cart=carts.get_user_cart(shopper.id),
        user_id=shopper.id,
        email=shopper.email,
        shipping_address=ADDRESS,
        payment_provider="manual",
    ).order
    db.session.commit()
    assert (order.total_cents, stock_and_ledger(shop["a"].id)) == (2 * 5295, (8, 8))
    with pytest.raises(InvalidTransition):
        refunds.refund_order(order.id, lines=None, extra_cents=1, restock=False, actor_id=None)
    db.session.rollback()
    services.transition_order(order.id, "paid", shop["staff"].id, "Transfer received")
    db.session.commit()

    refund = refunds.refund_order(
        order.id, lines=[(order.lines[0].id, 2)], restock=True, actor_id=shop["staff"].id
    )
    db.session.commit()
    assert (refund.amount_cents, refund.status) == (10590, "succeeded")
    assert _status(db, order.id) == "refunded"
    assert stock_and_ledger(shop["a"].id) == (10, 10)


# --- card refunds -----------------------------------------------------------------------------


def _card_order(db, shop):
    order = _order(db, shop, provider="card")
    payment = make_card_payment(order, "pi_test_42")
    db.session.commit()
    return order, payment


def test_a_card_refund_waits_for_stripe_then_settles_once(db, shop):
    order, payment = _card_order(db, shop)
    la = _line(order, shop["a"]).id
    refund = refunds.refund_order(order.id, lines=[(la, 1)], restock=True, actor_id=shop["staff"].id)
    db.session.commit()
    assert (refund.status, refund.amount_cents, refund.payment_id) == ("pending", 2090, payment.id)
    assert _status(db, order.id) == "paid"
    assert stock_and_ledger(shop["a"].id) == (10, 10)
    left = refunds.refundable(services.get_order(order.id))
    assert (left["refunded_cents"], left["pending_cents"], left["left_cents"]) == (0, 2090, TOTAL - 2090)
    assert left["lines"][0]["left_quantity"] == 2  # a pending refund's units are taken
    # a pending refund counts: the whole total is no longer available
    with pytest.raises(Conflict):
        refunds.refund_order(order.id, lines=None, extra_cents=TOTAL - 2089, restock=False, actor_id=None)
    db.session.rollback()

    refund.provider_reference = "re_test_1"  # as submit_refund keeps Stripe's id
    db.session.commit()
    assert refunds.settle_provider_refund("re_test_1", "pending") == f"refund {refund.id} still pending"
    db.session.commit()
    assert _status(db, order.id) == "paid"

    assert refunds.settle_provider_refund("re_test_1", "succeeded") == f"refund {refund.id} settled"
    db.session.commit()
    assert _status(db, order.id) == "partially_refunded"
    assert stock_and_ledger(shop["a"].id) == (11, 11)
    events = _events(db, order.id)

    # the webhook again (Stripe retries): nothing changes, no second restock
    assert refunds.settle_provider_refund("re_test_1", "succeeded") == f"refund {refund.id} already succeeded"
    db.session.commit()
    assert stock_and_ledger(shop["a"].id) == (11, 11)
    assert len(_refund_moves(db)) == 1
    assert _events(db, order.id) == events
    assert db.session.get(Refund, refund.id).status == "succeeded"


def test_a_failed_card_refund_frees_its_amount(db, shop):
    order, _ = _card_order(db, shop)
    refund = refunds.refund_order(order.id, lines=None, extra_cents=TOTAL, restock=False, actor_id=None)
    refund.provider_reference = "re_test_2"
    db.session.commit()
    assert refunds.refundable(services.get_order(order.id))["left_cents"] == 0

    assert refunds.settle_provider_refund("re_test_2", "canceled") == f"refund {refund.id} failed"
    db.session.commit()
    assert db.session.get(Refund, refund.id).status == "failed"
    assert _status(db, order.id) == "paid"
    assert "failed" in _events(db, order.id)[-1][2]
    assert refunds.refundable(services.get_order(order.id))["left_cents"] == TOTAL
    # a late "succeeded" for a failed refund settles nothing, but staff are told
    assert refunds.settle_provider_refund("re_test_2", "succeeded") == (
        f"refund {refund.id} was failed, now succeeded: order flagged"
    )
    assert db.session.get(Refund, refund.id).status == "failed"
    assert "after the shop had recorded it as failed" in services.get_order(order.id).attention
    again = refunds.refund_order(order.id, lines=None, extra_cents=TOTAL, restock=False, actor_id=None)
    db.session.commit()
    assert again.status == "pending"


def test_unknown_stripe_refunds_and_statuses_are_ignored(db, shop):
    order, _ = _card_order(db, shop)
    refund = refunds.refund_order(order.id, lines=None, extra_cents=100, restock=False, actor_id=None)
    refund.provider_reference = "re_test_3"
    db.session.commit()
    assert refunds.settle_provider_refund("re_nobody", "succeeded") == "ignored: no refund re_nobody"
    assert refunds.settle_provider_refund("re_test_3", "exploded").startswith(
        "ignored: unknown refund status"
    )
    db.session.commit()
    assert db.session.get(Refund, refund.id).status == "pending"


def test_a_webhook_before_stripes_answer_finds_the_refund_by_its_id(db, shop):
    order, _ = _card_order(db, shop)
    refund = refunds.refund_order(order.id, lines=None, extra_cents=TOTAL, restock=False, actor_id=None)
    db.session.commit()
    outcome = refunds.settle_provider_refund("re_test_4", "succeeded", refund_id=refund.id)
    db.session.commit()
    assert outcome == f"refund {refund.id} settled"
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).provider_reference == "re_test_4"
    assert _status(db, order.id) == "refunded"


def test_a_card_order_without_a_confirmed_payment_cannot_be_refunded(db, shop):
    order = _order(db, shop, provider="card")
    with pytest.raises(Conflict) as refused:
        refunds.refund_order(order.id, lines=None, extra_cents=100, restock=False, actor_id=None)
    assert "at most $0.00" in refused.value.detail  # nothing was paid through a payment row


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_submit_refund_with_stripe_unreachable_marks_it_failed(app, db, shop):
    app.config.update(
        STRIPE_SECRET_KEY="sk_test_unreachable",
        STRIPE_WEBHOOK_SECRET="whsec_test",
        STRIPE_API_BASE=f"http://127.0.0.1:{_closed_port()}",
    )
    order, _ = _card_order(db, shop)
    refund = refunds.refund_order(
        order.id, lines=[(_line(order, shop["a"]).id, 3)], restock=True, actor_id=None
    )
    db.session.commit()
    with pytest.raises(GatewayError) as refused:
        refunds.submit_refund(refund.id)
    assert refused.value.status == 502
    db.session.rollback()  # what a caller's unit of work does: the failure is already committed
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).status == "failed"
    assert _status(db, order.id) == "paid"
    assert stock_and_ledger(shop["a"].id) == (10, 10)
    assert _events(db, order.id)[-1][2].startswith(f"Refund #{refund.id} of $62.70 failed: ")
    assert refunds.refundable(services.get_order(order.id))["left_cents"] == TOTAL


@contextmanager
def _refund_answering_api(status: str):
    """A local HTTP server answering ``POST /v1/refunds`` as Stripe does, with ``status``;
    yields the list of the form bodies it received."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            body = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            received.append({k: v[0] for k, v in body.items()} | {"key": self.headers["Idempotency-Key"]})
            answer = json.dumps(
                {"id": f"re_local_{len(received)}", "object": "refund", "status": status, "amount": 1}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        thread.join()


def test_submit_refund_keeps_stripes_id_and_settles_a_refund_stripe_made_at_once(app, db, shop):
    order, _ = _card_order(db, shop)
    refund = refunds.refund_order(
        order.id, lines=[(_line(order, shop["a"]).id, 1)], restock=True, actor_id=shop["staff"].id
    )
    db.session.commit()
    with _refund_answering_api("succeeded") as (base, received):
        app.config.update(STRIPE_SECRET_KEY="sk_test_local", STRIPE_API_BASE=base)
        done = refunds.submit_refund(refund.id)
        assert refunds.submit_refund(refund.id).id == refund.id  # already sent: no second call
    assert received == [
        {
            "payment_intent": "pi_test_42",
            "amount": "2090",
            "metadata[order_number]": order.number,
            "metadata[refund_id]": str(refund.id),
            "key": f"refund-{refund.id}",
        }
    ]
    assert (done.status, done.provider_reference) == ("succeeded", "re_local_1")
    assert _status(db, order.id) == "partially_refunded"
    assert stock_and_ledger(shop["a"].id) == (11, 11)
    # Stripe's webhook for the same refund changes nothing
    assert (
        refunds.settle_provider_refund("re_local_1", "succeeded") == f"refund {refund.id} already succeeded"
    )
    assert stock_and_ledger(shop["a"].id) == (11, 11)


def test_submit_refund_leaves_a_refund_stripe_has_not_finished_pending(app, db, shop):
    order, _ = _card_order(db, shop)
    refund = refunds.refund_order(order.id, lines=None, extra_cents=500, restock=False, actor_id=None)
    db.session.commit()
    with _refund_answering_api("pending") as (base, _):
        app.config.update(STRIPE_SECRET_KEY="sk_test_local", STRIPE_API_BASE=base)
        done = refunds.submit_refund(refund.id)
    assert (done.status, done.provider_reference) == ("pending", "re_local_1")
    assert _status(db, order.id) == "paid"
