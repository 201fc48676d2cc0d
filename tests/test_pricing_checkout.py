"""``place_order`` with the totals calculator on the real database: the order keeps the
breakdown as a snapshot, refusals write nothing, and a discount code's use is counted
once per order and given back once on cancellation.

Every expected figure is worked out by hand in the comments; none comes from the code.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from shop.catalog.models import Product
from shop.exceptions import Conflict, InvalidTransition
from shop.orders import services
from shop.orders.models import Cart, CartItem, Order
from shop.pricing import discounts
from shop.pricing.discounts import Customer
from shop.pricing.models import DiscountCode, DiscountRedemption, ShippingMethod, TaxRate
from shop.pricing.totals import compute
from tests.factories import ADDRESS, make_product, make_user, stock_and_ledger
from tests.pricing_factories import (
    count,
    guest_cart,
    line,
    make_code,
    make_method,
    make_rate,
    orders_and_redemptions,
    place,
    times_used,
    user_cart,
)

GERMANY = {**ADDRESS, "region": "", "postal_code": "10115", "city": "Berlin", "country": "DE"}


@dataclass
class Shop:
    """A US shop: Virginia's tax, two methods, a 10 % code, two products, a shopper's cart."""

    ground: ShippingMethod
    express: ShippingMethod
    rate: TaxRate
    code: DiscountCode
    kettle: Product
    mug: Product
    shopper: object
    cart: Cart


@pytest.fixture
def shop(app, db) -> Shop:
    rate = make_rate("US", 530, "Virginia sales tax", region="VA")
    ground = make_method("Ground", countries=["US"], price_cents=699, position=0)
    express = make_method("Express", countries=["US"], price_cents=1599, position=1)
    code = make_code("SPRING", value=1000)  # 10 %
    kettle = make_product(name="Kettle", price_cents=2000, stock=10)
    mug = make_product(name="Mug", price_cents=1250, stock=5)
    shopper = make_user()
    cart = user_cart(shopper, (kettle, 2), (mug, 1))
    db.session.commit()
    return Shop(ground, express, rate, code, kettle, mug, shopper, cart)


# The shop's order, by hand (Express chosen, SPRING typed, shipped to Virginia):
#   subtotal       kettle 2 x 2000 = 4000, mug 1250            = 5250
#   discount       10 % of 5250 = 525, spread 4000 : 1250      = 400 + 125
#   tax (5.3 %)    kettle (4000 - 400) = 3600 -> 190.8 -> 191
#                  mug (1250 - 125) = 1125 -> 59.625 -> 60
#                  shipping 1599 -> 84.747 -> 85               = 336
#   total          5250 - 525 + 1599 + 336                     = 6660
TOTAL = 6660


def _place_the_shops_order(shop: Shop, **kwargs) -> Order:
    kwargs = {"shipping_method_id": shop.express.id, "discount_code": "spring", **kwargs}
    return place(shop.cart, shop.shopper, **kwargs)


def _money(order: Order) -> dict:
    return {
        "subtotal": order.subtotal_cents,
        "discount": order.discount_cents,
        "shipping": order.shipping_cents,
        "shipping_tax": order.shipping_tax_cents,
        "tax": order.tax_cents,
        "total": order.total_cents,
        "included": order.prices_include_tax,
        "tax_name": order.tax_name,
        "rate": order.tax_rate_bp,
        "method": (order.shipping_method_id, order.shipping_method_name),
        "code": order.discount_code,
        "currency": order.currency,
        "lines": [
            (ln.sku, ln.unit_price_cents, ln.quantity, ln.discount_cents, ln.tax_cents, ln.tax_rate_bp)
            for ln in order.lines
        ],
    }


def _expected_snapshot(shop: Shop) -> dict:
    return {
        "subtotal": 5250,
        "discount": 525,
        "shipping": 1599,
        "shipping_tax": 85,
        "tax": 336,
        "total": TOTAL,
        "included": False,
        "tax_name": "Virginia sales tax",
        "rate": 530,
        "method": (shop.express.id, "Express"),
        "code": "SPRING",
        "currency": "USD",
        "lines": [
            (shop.kettle.sku, 2000, 2, 400, 191, 530),
            (shop.mug.sku, 1250, 1, 125, 60, 530),
        ],
    }


def _reread(db, order_id: int) -> Order:
    db.session.expire_all()
    return services.get_order(order_id)


def _nothing_written(db, shop: Shop, uses: int = 0) -> None:
    """After a refusal and the caller's rollback: no order, no redemption, stock and the
    code's count as they were, the cart still full."""
    db.session.rollback()
    db.session.expire_all()
    assert orders_and_redemptions() == (0, 0)
    assert stock_and_ledger(shop.kettle.id) == (10, 10)
    assert stock_and_ledger(shop.mug.id) == (5, 5)
    assert times_used(shop.code.id) == uses
    assert count(CartItem, CartItem.cart_id == shop.cart.id) == 2


# --- the snapshot -------------------------------------------------------------------------------


def test_the_order_stores_the_breakdown(shop, db):
    order = _place_the_shops_order(shop, expected_total_cents=TOTAL)
    db.session.commit()

    order = _reread(db, order.id)
    assert _money(order) == _expected_snapshot(shop)
    assert order.status == "pending_payment"
    # stock taken, the cart emptied, the code's use counted with a redemption row
    assert stock_and_ledger(shop.kettle.id) == (8, 8)
    assert stock_and_ledger(shop.mug.id) == (4, 4)
    assert count(CartItem, CartItem.cart_id == shop.cart.id) == 0
    assert times_used(shop.code.id) == 1
    redemption = db.session.scalars(select(DiscountRedemption)).one()
    assert (redemption.code_id, redemption.order_id, redemption.user_id) == (
        shop.code.id,
        order.id,
        shop.shopper.id,
    )
    assert (redemption.email, redemption.amount_cents, redemption.released_at) == (
        shop.shopper.email,
        525,
        None,
    )


def test_the_snapshot_survives_later_changes(shop, db):
    order = _place_the_shops_order(shop)
    db.session.commit()

    shop.rate.rate_bp = 1000
    shop.rate.name = "Renamed tax"
    shop.express.price_cents = 2500
    shop.express.name = "Express 24h"
    shop.code.value = 5000
    shop.code.kind = "fixed"
    shop.kettle.price_cents = 9999
    shop.mug.price_cents = 1
    db.session.commit()

    assert _money(_reread(db, order.id)) == _expected_snapshot(shop)

    # even the method's removal leaves its name on the order
    db.session.delete(db.session.get(ShippingMethod, shop.express.id))
    db.session.commit()
    after = _money(_reread(db, order.id))
    assert after["method"] == (None, "Express")
    assert {**after, "method": None} == {**_expected_snapshot(shop), "method": None}


def test_prices_including_tax_are_stored_as_such(shop, db, app):
    app.config["PRICES_INCLUDE_TAX"] = True
    order = place(shop.cart, shop.shopper)
    db.session.commit()

    order = _reread(db, order.id)
    # no code; Ground (699) is the cheapest. Tax inside: amount * 530 / 10530
    #   kettle 4000 -> 201.33 -> 201; mug 1250 -> 62.92 -> 63; shipping 699 -> 35.18 -> 35
    # total 5250 + 699 = 5949, the tax (299) inside it
    assert (order.prices_include_tax, order.discount_code, order.discount_cents) == (True, "", 0)
    assert [(ln.discount_cents, ln.tax_cents) for ln in order.lines] == [(0, 201), (0, 63)]
    assert (order.shipping_method_name, order.shipping_cents, order.shipping_tax_cents) == ("Ground", 699, 35)
    assert (order.tax_cents, order.total_cents) == (299, 5949)
    assert count(DiscountRedemption) == 0


def test_a_shop_without_shipping_methods_places_orders_with_free_shipping(app, db):
    make_rate("US", 1000, "Sales tax")
    shopper, product = make_user(), make_product(price_cents=1999, stock=3)
    cart = user_cart(shopper, (product, 1))
    db.session.commit()

    order = place(cart, shopper)
    db.session.commit()
    order = _reread(db, order.id)

    # 1999 + 10 % (199.9 -> 200) = 2199
    assert (order.shipping_method_id, order.shipping_method_name, order.shipping_cents) == (None, "", 0)
    assert (order.tax_cents, order.total_cents) == (200, 2199)


# --- refusals write nothing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"is_active": False}, "There is no discount code SPRING."),
        ({"max_uses": 3, "times_used": 3}, "The code SPRING has been used up."),
        ({"min_subtotal_cents": 5251}, "The code SPRING needs a subtotal of at least $52.51."),
    ],
)
def test_a_refused_code_places_nothing(shop, db, change, message):
    for name, value in change.items():
        setattr(shop.code, name, value)
    db.session.commit()
    uses = shop.code.times_used

    with pytest.raises(Conflict) as refused:
        _place_the_shops_order(shop)

    assert refused.value.status == 409
    assert refused.value.detail == message
    assert refused.value.errors == {"discount_code": [message]}
    _nothing_written(db, shop, uses)


def test_a_total_changed_since_the_shopper_saw_it_places_nothing(shop, db):
    # the shopper saw 6660 (see TOTAL); then staff raise Virginia's rate to 6 %
    shop.rate.rate_bp = 600
    db.session.commit()

    with pytest.raises(Conflict) as refused:
        _place_the_shops_order(shop, expected_total_cents=TOTAL)

    # at 6 %: kettle 3600 -> 216; mug 1125 -> 67.5 -> 68; shipping 1599 -> 95.94 -> 96;
    # tax 380, total 5250 - 525 + 1599 + 380 = 6704
    assert refused.value.status == 409
    assert refused.value.errors == {"expected_total_cents": ["The total is now 6704."]}
    _nothing_written(db, shop)

    # confirmed at the new total, it is placed
    order = _place_the_shops_order(shop, expected_total_cents=6704)
    db.session.commit()
    assert (order.tax_cents, order.total_cents) == (380, 6704)
    assert times_used(shop.code.id) == 1


def test_an_unserved_country_places_nothing(shop, db):
    with pytest.raises(Conflict) as refused:
        place(shop.cart, shop.shopper, address=GERMANY, discount_code="SPRING")

    assert refused.value.status == 409
    assert refused.value.errors == {"shipping_address.country": ["We do not ship to Germany."]}
    _nothing_written(db, shop)


def test_a_method_for_another_country_places_nothing(shop, db):
    dhl = make_method("DHL Paket", countries=["DE"], price_cents=490)
    db.session.commit()

    with pytest.raises(Conflict) as refused:
        _place_the_shops_order(shop, shipping_method_id=dhl.id)

    assert refused.value.status == 409
    assert list(refused.value.errors) == ["shipping_method"]
    _nothing_written(db, shop)


def test_a_weight_priced_method_cannot_take_an_order_of_unknown_weight(shop, db):
    # the shop's products have no weight: the parcel method cannot price the order
    parcel = make_method("Parcel", countries=["US"], rate_kind="weight", bands=[[10_000, 300]])
    db.session.commit()

    with pytest.raises(Conflict) as refused:
        _place_the_shops_order(shop, shipping_method_id=parcel.id)

    assert list(refused.value.errors) == ["shipping_method"]
    _nothing_written(db, shop)

    # once they weigh 2 x 1000 g + 500 g = 2500 g, it can (300 cents)
    shop.kettle.weight_grams, shop.mug.weight_grams = 1000, 500
    db.session.commit()
    order = _place_the_shops_order(shop, shipping_method_id=parcel.id)
    assert (order.shipping_method_name, order.shipping_cents) == ("Parcel", 300)


# --- uses of a code -------------------------------------------------------------------------------


def _second_use(shop: Shop, db) -> Order:
    """Another shopper's order with the code, so a wrong give-back would show."""
    other = make_user()
    order = place(user_cart(other, (shop.mug, 1)), other, discount_code="SPRING")
    db.session.commit()
    return order


def _released(db, order_id: int):
    db.session.expire_all()
    return db.session.scalar(
        select(DiscountRedemption.released_at).where(DiscountRedemption.order_id == order_id)
    )


def test_cancelling_twice_gives_the_use_back_once(shop, db):
    order = _place_the_shops_order(shop)
    db.session.commit()
    other = _second_use(shop, db)
    assert times_used(shop.code.id) == 2

    services.cancel_order(order.id, shop.shopper.id)
    db.session.commit()
    assert times_used(shop.code.id) == 1
    assert _released(db, order.id) is not None
    assert _released(db, other.id) is None

    with pytest.raises(InvalidTransition):
        services.cancel_order(order.id, shop.shopper.id)
    db.session.rollback()
    assert times_used(shop.code.id) == 1

    # a retried release of the same order gives nothing back either
    assert discounts.release(order.id) is False
    db.session.commit()
    assert times_used(shop.code.id) == 1


def test_a_customer_cancel_then_a_staff_cancel_gives_the_use_back_once(shop, db):
    staff = make_user(role="staff")
    order = _place_the_shops_order(shop)
    db.session.commit()
    _second_use(shop, db)

    services.cancel_order(order.id, shop.shopper.id)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        services.cancel_order(order.id, staff.id, staff=True)
    db.session.rollback()

    assert times_used(shop.code.id) == 1
    assert count(DiscountRedemption, DiscountRedemption.released_at.is_not(None)) == 1


def test_staff_cancelling_a_paid_order_gives_the_use_back(shop, db):
    staff = make_user(role="staff")
    order = _place_the_shops_order(shop, payment_provider="test")
    db.session.commit()
    assert _reread(db, order.id).status == "paid"
    assert times_used(shop.code.id) == 1

    services.cancel_order(order.id, staff.id, staff=True)
    db.session.commit()

    assert times_used(shop.code.id) == 0
    assert _released(db, order.id) is not None


def test_a_use_given_back_can_be_used_again_by_the_same_customer(shop, db):
    shop.code.max_uses_per_customer = 1
    shop.code.max_uses = 1
    db.session.commit()
    order = _place_the_shops_order(shop)
    db.session.commit()
    me = Customer(shop.shopper.id, shop.shopper.email)
    again = compute([line(shop.mug.id, 1250)], country="US", code="SPRING", customer=me)
    assert again.discount_refusal == "The code SPRING has been used up."

    services.cancel_order(order.id, shop.shopper.id)
    db.session.commit()

    again = compute([line(shop.mug.id, 1250)], country="US", code="SPRING", customer=me)
    # 10 % of 1250 = 125
    assert (again.discount_refusal, again.discount_cents) == (None, 125)


def test_each_order_with_a_code_has_one_redemption_with_its_customer(shop, db):
    account_order = _place_the_shops_order(shop)
    guest_order = place(guest_cart((shop.mug, 2)), email="  Guest@Example.COM ", discount_code="SPRING")
    no_code = place(guest_cart((shop.mug, 1)), email="plain@example.com")
    db.session.commit()

    rows = {
        r.order_id: (r.code_id, r.user_id, r.email, r.amount_cents)
        for r in db.session.scalars(select(DiscountRedemption))
    }
    # the guest's 2 x 1250 = 2500, 10 % = 250; the e-mail as the order keeps it
    assert rows == {
        account_order.id: (shop.code.id, shop.shopper.id, shop.shopper.email, 525),
        guest_order.id: (shop.code.id, None, "guest@example.com", 250),
    }
    assert no_code.id not in rows
    assert times_used(shop.code.id) == 2
    assert db.session.scalar(select(Order.email).where(Order.id == guest_order.id)) == "guest@example.com"
