"""The audit log's pages: /admin/audit (staff see their own entries, admins everyone's;
filters and pages), each admin product and order page's history, and the client address
of the request that made a change (behind the configured proxies)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from shop import audit
from shop.audit.models import AuditEntry
from shop.extensions import db as _db
from tests.factories import make_product, make_user, page_text, sign_in
from tests.refund_factories import make_paid_order
from tests.test_admin_products_pages import edit_data


@pytest.fixture
def people(db):
    admin = make_user(email="boss@example.com", role="admin")
    clerk = make_user(email="clerk@example.com", role="staff")
    other = make_user(email="other@example.com", role="staff")
    db.session.commit()
    return {"admin": admin, "clerk": clerk, "other": other}


def _client(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def _write(kind, obj_type, obj_id, label, actor, at=None, **changes):
    """One entry by ``actor``; ``at`` dates it another day (inserted as such: never updated)."""
    if at is None:
        return audit.record(kind, obj_type, obj_id, label, changes, actor.id)
    entry = AuditEntry(
        at=at,
        actor_id=actor.id,
        actor_email=actor.email,
        kind=kind,
        object_type=obj_type,
        object_id=obj_id,
        object_label=label,
        changes=changes,
        note="",
    )
    _db.session.add(entry)
    _db.session.flush()
    return entry


def _labels(resp) -> list[str]:
    """The object labels in the listing's rows, top to bottom."""
    import re

    return re.findall(r'data-label="([^"]*)"', page_text(resp))


def test_a_staff_edit_over_http_records_the_client_address(app, db, people):
    product = make_product(price_cents=1000)
    db.session.commit()
    client = _client(app, people["clerk"])
    resp = client.post(
        f"/admin/products/{product.id}/edit",
        data=edit_data(product, price="12.50"),
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert resp.status_code == 302
    [entry] = db.session.scalars(select(AuditEntry)).all()
    assert (entry.kind, entry.changes, entry.ip, entry.actor_email) == (
        "product.update",
        {"price_cents": [1000, 1250]},
        "203.0.113.9",
        "clerk@example.com",
    )


def test_the_address_is_the_one_proxy_fix_resolves(app_factory, people):
    app = app_factory(PROXY_FIX_X_FOR=1)
    with app.app_context():
        product = make_product(price_cents=1000)
        _db.session.commit()
        client = app.test_client()
        sign_in(client, people["clerk"])
        resp = client.post(
            f"/admin/products/{product.id}/archive",
            data={"confirm": "y"},
            headers={"X-Forwarded-For": "198.51.100.7"},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
        )
        assert resp.status_code == 302
        entry = _db.session.scalars(select(AuditEntry)).one()
        assert (entry.kind, entry.ip) == ("product.archive", "198.51.100.7")
        _db.session.remove()


def test_the_staff_api_edit_is_recorded_too(app, db, people, client):
    from tests.factories import bearer_headers

    product = make_product(price_cents=1000, slug="alpha")
    headers = bearer_headers(people["clerk"])
    resp = client.patch("/api/v1/products/alpha", json={"price_cents": 900}, headers=headers)
    assert resp.status_code == 200
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.kind == "product.update")).all()
    assert (entry.object_id, entry.changes, entry.actor_id) == (
        product.id,
        {"price_cents": [1000, 900]},
        people["clerk"].id,
    )
    assert entry.ip == "127.0.0.1"


def test_only_staff_see_the_log(app, db, people):
    assert app.test_client().get("/admin/audit").status_code == 302
    customer = make_user()
    assert _client(app, customer).get("/admin/audit").status_code == 403
    assert _client(app, people["clerk"]).get("/admin/audit").status_code == 200


def test_staff_see_their_own_entries_admins_everyones(app, db, people):
    _write("product.update", "product", 1, "MINE", people["clerk"], price_cents=[1, 2])
    _write("product.update", "product", 2, "THEIRS", people["other"], price_cents=[3, 4])
    _write("user.role", "user", 3, "someone@example.com", people["admin"], role=["customer", "staff"])
    db.session.commit()
    assert _labels(_client(app, people["clerk"]).get("/admin/audit")) == ["MINE"]
    # a person filter does not widen a staff member's view
    assert _labels(_client(app, people["clerk"]).get(f"/admin/audit?person={people['other'].id}")) == ["MINE"]
    admin = _client(app, people["admin"])
    assert _labels(admin.get("/admin/audit")) == ["someone@example.com", "THEIRS", "MINE"]
    assert _labels(admin.get(f"/admin/audit?person={people['other'].id}")) == ["THEIRS"]
    text = page_text(admin.get("/admin/audit"))
    assert "price_cents" in text and "role" in text and "customer → staff" in text


def test_filters_by_type_kind_and_period(app, db, people):
    now = datetime.now(timezone.utc)
    boss = people["admin"]
    _write("product.update", "product", 1, "OLD", boss, at=now - timedelta(days=10), price_cents=[1, 2])
    _write("stock.set", "product", 1, "STOCK", boss, stock=[1, 2])
    _write("pricing.tax_rate.update", "tax_rate", 1, "DE VAT", boss, rate_bp=[1900, 700])
    _write("order.transition", "order", 1, "ORDER1", boss, status=["paid", "shipped"])
    db.session.commit()
    client = _client(app, boss)
    assert _labels(client.get("/admin/audit?type=product")) == ["STOCK", "OLD"]
    assert _labels(client.get("/admin/audit?kind=stock.set")) == ["STOCK"]
    assert _labels(client.get("/admin/audit?kind=pricing.")) == ["DE VAT"]
    day = (now - timedelta(days=10)).date().isoformat()
    assert _labels(client.get(f"/admin/audit?from={day}&to={day}")) == ["OLD"]
    assert _labels(client.get(f"/admin/audit?from={now.date().isoformat()}")) == ["ORDER1", "DE VAT", "STOCK"]
    # nonsense filters are ignored, not errors
    resp = client.get("/admin/audit?type=nope&from=yesterday&person=abc&page=-3")
    assert resp.status_code == 200 and len(_labels(resp)) == 4


def test_pages_of_fifty_newest_first(app, db, people):
    for n in range(1, 53):
        _write("product.update", "product", n, f"P{n:02d}", people["admin"], price_cents=[n, n + 1])
    db.session.commit()
    client = _client(app, people["admin"])
    first = client.get("/admin/audit")
    assert _labels(first)[:2] == ["P52", "P51"] and len(_labels(first)) == 50
    assert "Showing 1–50 of 52 entries" in page_text(first)
    second = client.get("/admin/audit?page=2&type=product")
    assert _labels(second) == ["P02", "P01"]
    assert "page=1&amp;type=product" in second.get_data(as_text=True)  # the pager keeps the filter


def test_no_route_edits_or_deletes_an_entry(app):
    rules = [r for r in app.url_map.iter_rules() if "audit" in r.rule]
    assert [(r.rule, sorted(r.methods - {"HEAD", "OPTIONS"})) for r in rules] == [("/admin/audit", ["GET"])]


def test_the_product_page_shows_its_own_history(app, db, people):
    product = make_product(name="Alpha", price_cents=1000)
    other = make_product(name="Beta")
    db.session.commit()
    client = _client(app, people["clerk"])
    client.post(f"/admin/products/{product.id}/edit", data=edit_data(product, price="11.00", name="Alpha 2"))
    _write("product.update", "product", other.id, other.sku, people["clerk"], name=["Beta", "NOT THIS ONE"])
    db.session.commit()
    text = page_text(client.get(f"/admin/products/{product.id}/edit"))
    history = text[text.index('id="audit-history-title"') :]
    assert "product.update" in history and "clerk@example.com" in history
    assert "price_cents" in history and "1000 → 1100" in history and "Alpha → Alpha 2" in history
    assert "NOT THIS ONE" not in history
    assert "History" not in page_text(client.get("/admin/products/new"))


def test_the_order_page_shows_its_own_history(app, db, people):
    product = make_product(stock=5)
    order = make_paid_order([(product, 1000, 1, 0, 0)])
    db.session.commit()
    client = _client(app, people["clerk"])
    resp = client.post(
        f"/admin/orders/{order.number}/status",
        data={"to_status": "shipped", "note": "DHL 42", "carrier": "DHL", "tracking_number": "JD0142"},
    )
    assert resp.status_code == 303
    text = page_text(client.get(f"/admin/orders/{order.number}"))
    history = text[text.index('id="audit-history-title"') :]
    assert "order.transition" in history and "paid → shipped" in history and "DHL 42" in history
