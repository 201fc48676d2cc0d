"""An order placed before the pricing migration survives it: the same figures, the new
snapshot columns empty (0, '' or false), and it still renders for the API.

The order is written with SQL at revision ``0007_outbox`` (before shipping, tax and
discounts existed) on an empty database, then the database is upgraded to ``head``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask_migrate import upgrade

from shop.dbtypes import JSONType, UTCDateTime
from shop.extensions import db as _db
from shop.orders import services
from shop.orders.schemas import order_json
from tests.test_migrations import empty_database_url  # noqa: F401 - the fixture

PLACED = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "line2": "",
    "city": "London",
    "region": "",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}

# The three tables as revision 0007_outbox has them (only the columns written here).
ORDERS = sa.table(
    "orders",
    sa.column("id", sa.Integer),
    sa.column("number", sa.String),
    sa.column("user_id", sa.Integer),
    sa.column("email", sa.String),
    sa.column("status", sa.String),
    sa.column("currency", sa.String),
    sa.column("subtotal_cents", sa.Integer),
    sa.column("shipping_cents", sa.Integer),
    sa.column("total_cents", sa.Integer),
    sa.column("shipping_address", JSONType()),
    sa.column("payment_provider", sa.String),
    sa.column("payment_reference", sa.String),
    sa.column("created_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
LINES = sa.table(
    "order_lines",
    sa.column("id", sa.Integer),
    sa.column("order_id", sa.Integer),
    sa.column("product_id", sa.Integer),
    sa.column("sku", sa.String),
    sa.column("name", sa.String),
    sa.column("unit_price_cents", sa.Integer),
    sa.column("quantity", sa.Integer),
)
EVENTS = sa.table(
    "order_events",
    sa.column("id", sa.Integer),
    sa.column("order_id", sa.Integer),
    sa.column("from_status", sa.String),
    sa.column("to_status", sa.String),
    sa.column("actor_id", sa.Integer),
    sa.column("note", sa.Text),
    sa.column("created_at", UTCDateTime()),
)


def _write_an_old_order(conn) -> None:
    # 2 x 1999 + 1 x 450 = 4448; shipping 500; total 4948 (no tax, no discount then)
    conn.execute(
        sa.insert(ORDERS).values(
            id=1,
            number="7KQ4-M2XD-9PWA",
            user_id=None,
            email="ada@example.com",
            status="paid",
            currency="USD",
            subtotal_cents=4448,
            shipping_cents=500,
            total_cents=4948,
            shipping_address=ADDRESS,
            payment_provider="manual",
            payment_reference="TRANSFER-1",
            created_at=PLACED,
            updated_at=PLACED,
        )
    )
    conn.execute(
        sa.insert(LINES),
        [
            {
                "id": 1,
                "order_id": 1,
                "product_id": None,
                "sku": "ENG-1",
                "name": "Analytical engine",
                "unit_price_cents": 1999,
                "quantity": 2,
            },
            {
                "id": 2,
                "order_id": 1,
                "product_id": None,
                "sku": "CARD-9",
                "name": "Punched cards",
                "unit_price_cents": 450,
                "quantity": 1,
            },
        ],
    )
    conn.execute(
        sa.insert(EVENTS),
        [
            {
                "id": 1,
                "order_id": 1,
                "from_status": None,
                "to_status": "pending_payment",
                "actor_id": None,
                "note": "Order placed.",
                "created_at": PLACED,
            },
            {
                "id": 2,
                "order_id": 1,
                "from_status": "pending_payment",
                "to_status": "paid",
                "actor_id": None,
                "note": "",
                "created_at": PLACED,
            },
        ],
    )


def test_an_order_from_before_pricing_survives_the_upgrade(app_factory, empty_database_url):  # noqa: F811
    app = app_factory(SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade(revision="0007_outbox")
        with _db.engine.begin() as conn:
            _write_an_old_order(conn)

        upgrade()

        order = services.get_order(1)
        # the figures it was placed with
        assert (order.number, order.status, order.email, order.currency) == (
            "7KQ4-M2XD-9PWA",
            "paid",
            "ada@example.com",
            "USD",
        )
        assert (order.subtotal_cents, order.shipping_cents, order.total_cents) == (4448, 500, 4948)
        assert order.shipping_address == ADDRESS
        assert order.created_at == PLACED
        # the new snapshot columns: nothing taken off, no tax, no method or code recorded
        assert (order.discount_cents, order.tax_cents, order.shipping_tax_cents, order.tax_rate_bp) == (
            0,
            0,
            0,
            0,
        )
        assert order.prices_include_tax is False
        assert (order.tax_name, order.shipping_method_name, order.discount_code) == ("", "", "")
        assert order.shipping_method_id is None
        assert [
            (ln.sku, ln.unit_price_cents, ln.quantity, ln.discount_cents, ln.tax_cents, ln.tax_rate_bp)
            for ln in order.lines
        ] == [("ENG-1", 1999, 2, 0, 0, 0), ("CARD-9", 450, 1, 0, 0, 0)]
        # the model's rule still holds: 4448 - 0 + 500 + 0 = 4948
        assert (
            order.subtotal_cents - order.discount_cents + order.shipping_cents + order.tax_cents
            == order.total_cents
        )

        data = order_json(order, staff=True)
        assert (data["subtotal_cents"], data["shipping_cents"], data["total_cents"]) == (4448, 500, 4948)
        assert [(ln["sku"], ln["line_total_cents"]) for ln in data["lines"]] == [
            ("ENG-1", 3998),
            ("CARD-9", 450),
        ]
        assert [(e["from"], e["to"], e["description"]) for e in data["events"]] == [
            (None, "pending_payment", "Order placed."),
            ("pending_payment", "paid", "Payment received."),
        ]
        assert (data["email"], data["payment_reference"]) == ("ada@example.com", "TRANSFER-1")
        _db.session.remove()
