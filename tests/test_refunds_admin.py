"""The refund form on the admin order page, over HTTP: payments and refunds shown, the
amount confirmed before anything is sent, errors on the form with what was typed kept
(422, 409, 502), and only staff let in."""

from __future__ import annotations

import re
import socket

import pytest

from shop.payments.models import Refund
from tests.factories import make_product, make_user, page_text, sign_in, stock_and_ledger
from tests.refund_factories import make_card_payment, make_paid_order


@pytest.fixture
def world(db):
    staff = make_user(role="staff")
    a = make_product(name="Alpha", stock=10)
    b = make_product(name="Beta", stock=5)
    # A: 2 × $30.00 less $6.00 = $54.00; B: 1 × $15.00; shipping $4.95 -> $73.95 (no tax)
    order = make_paid_order([(a, 3000, 2, 600, 0), (b, 1500, 1, 0, 0)], shipping_cents=495)
    db.session.commit()
    la, lb = (ln.id for ln in order.lines)
    return {"staff": staff, "a": a, "b": b, "order": order, "la": la, "lb": lb}


def _words(resp) -> str:
    """The page's text without tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", page_text(resp)).split())


def _staff_client(app, world):
    client = app.test_client()
    sign_in(client, world["staff"])
    return client


def _form(world, qa=0, qb=0, extra="", restock=True, reason="", step=None):
    data = {f"qty_{world['la']}": str(qa), f"qty_{world['lb']}": str(qb), "extra": extra, "reason": reason}
    if restock:
        data["restock"] = "y"
    if step:
        data["step"] = step
    return data


def test_the_order_page_shows_the_figures_and_the_refund_form(app, db, world):
    resp = _staff_client(app, world).get(f"/admin/orders/{world['order'].number}")
    assert resp.status_code == 200
    text = page_text(resp)
    assert "Payments" in text and "No payment record: paid in full" in text and "$73.95" in text
    assert "Left to refund" in text and "Review refund…" in text
    assert f'name="qty_{world["la"]}"' in text and 'max="2"' in text


def test_review_then_confirm_makes_one_refund(app, db, world):
    client = _staff_client(app, world)
    url = f"/admin/orders/{world['order'].number}/refund"
    review = client.post(url, data=_form(world, qa=1, extra="4.95", reason="Return"))
    assert review.status_code == 200
    text = _words(review)
    # one unit of A ($27.00) and the shipping: $31.95, not yet refunded
    assert "Refund $31.95?" in text and "1 × " + world["a"].sku in text
    assert "Yes, refund $31.95" in text and "The items go back in stock." in text
    assert db.session.query(Refund).count() == 0

    done = client.post(url, data=_form(world, qa=1, extra="4.95", reason="Return", step="confirm"))
    assert done.status_code == 303 and done.headers["Location"].endswith("#refunds")
    page = _words(client.get(done.headers["Location"]))
    assert "Refund #1 of $31.95: 1 × " in page and "items back in stock. Recorded as refunded." in page
    assert "Partially refunded" in page and "Return" in page
    refund = db.session.query(Refund).one()
    assert (refund.amount_cents, refund.restock, refund.reason, refund.actor_id) == (
        3195,
        True,
        "Return",
        world["staff"].id,
    )
    assert stock_and_ledger(world["a"].id) == (11, 11)


def test_back_from_the_review_keeps_what_was_typed(app, db, world):
    client = _staff_client(app, world)
    resp = client.post(
        f"/admin/orders/{world['order'].number}/refund", data=_form(world, qb=1, extra="2", step="edit")
    )
    assert resp.status_code == 200
    text = page_text(resp)
    assert f'name="qty_{world["lb"]}" readonly' not in text
    assert 'value="2"' in text and f'id="qty_{world["lb"]}"' in text
    assert db.session.query(Refund).count() == 0


def test_invalid_fields_are_422_on_the_form(app, db, world):
    client = _staff_client(app, world)
    resp = client.post(f"/admin/orders/{world['order'].number}/refund", data=_form(world, qa=3, extra="abc"))
    assert resp.status_code == 422
    text = page_text(resp)
    assert "From 0 to 2." in text and "Enter an amount like 4.95." in text
    assert "nothing was refunded" in text
    resp = client.post(f"/admin/orders/{world['order'].number}/refund", data=_form(world))
    assert resp.status_code == 422
    assert "Choose at least one item or an amount to refund." in page_text(resp)
    assert db.session.query(Refund).count() == 0


def test_more_than_was_paid_is_409_with_the_figures_and_the_form_kept(app, db, world):
    client = _staff_client(app, world)
    url = f"/admin/orders/{world['order'].number}/refund"
    resp = client.post(url, data=_form(world, qb=1, extra="60.00", reason="Too much", step="confirm"))
    assert resp.status_code == 409
    text = page_text(resp)
    assert "Refunding $75.00 would give back more than was paid: $73.95 paid" in text
    assert 'value="60.00"' in text and "Too much" in text
    assert db.session.query(Refund).count() == 0


def test_stripe_unreachable_is_502_on_the_page_and_the_refund_shows_failed(app, db, world):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app.config.update(STRIPE_SECRET_KEY="sk_test_x", STRIPE_API_BASE=f"http://127.0.0.1:{port}")
    order = make_paid_order([(world["a"], 1000, 2, 0, 0)], provider="card")
    make_card_payment(order, "pi_admin")
    db.session.commit()
    client = _staff_client(app, world)
    data = {f"qty_{order.lines[0].id}": "1", "extra": "", "reason": "Card", "step": "confirm"}
    resp = client.post(f"/admin/orders/{order.number}/refund", data=data)
    assert resp.status_code == 502
    text = page_text(resp)
    assert "The card payment service answered" in text
    assert "Refund #1 is recorded as failed: nothing was refunded, and you can try again." in text
    assert "pi_admin" in text and "failed" in text
    assert "Card" in text  # the reason typed is still in the form
    assert db.session.query(Refund).one().status == "failed"
    assert stock_and_ledger(world["a"].id) == (10, 10)


def test_only_staff_may_refund(app, db, world):
    shopper = make_user()
    db.session.commit()
    client = app.test_client()
    url = f"/admin/orders/{world['order'].number}/refund"
    assert "/auth/login" in client.post(url, data=_form(world, qa=1, step="confirm")).headers["Location"]
    sign_in(client, shopper)
    assert client.post(url, data=_form(world, qa=1, step="confirm")).status_code == 403
    assert client.get(f"/admin/orders/{world['order'].number}").status_code == 403
    assert db.session.query(Refund).count() == 0
