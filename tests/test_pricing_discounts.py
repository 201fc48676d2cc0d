"""Discount codes in the totals calculator: every rule, every refusal (in the shopper's
words), percentage and fixed amounts, and how the discount is spread over the lines.

Every expected figure is worked out by hand in the comments; none comes from the code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shop.pricing import totals
from shop.pricing.discounts import Customer
from tests.factories import make_category, make_product, make_user
from tests.pricing_factories import guest_cart, line, make_code, make_method, make_rate, place, user_cart

T = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ONE_SECOND = timedelta(seconds=1)


def _compute(lines, code, **kwargs):
    return totals.compute(lines, country="US", code=code, **kwargs)


def _refused(b, message: str) -> None:
    """Nothing was taken off, and the shopper is told why."""
    assert b.discount_refusal == message
    assert (b.discount_cents, b.discount_code, b.discount_code_id) == (0, "", None)
    assert [lt.discount_cents for lt in b.lines] == [0] * len(b.lines)
    assert b.total_cents == b.subtotal_cents + b.shipping_cents + b.tax_cents


def _applied(b, code: str, discount: int) -> None:
    assert b.discount_refusal is None
    assert (b.discount_code, b.discount_cents) == (code, discount)
    assert sum(lt.discount_cents for lt in b.lines) == discount


# --- refusals ---------------------------------------------------------------------------------


def test_an_unknown_code_is_refused(app, db):
    make_code("SPRING")

    b = _compute([line(1, 2000)], " nope ")

    _refused(b, "There is no discount code NOPE.")
    assert b.total_cents == 2000


def test_no_code_typed_is_no_refusal(app, db):
    make_code("SPRING")

    for typed in (None, "", "   "):
        b = _compute([line(1, 2000)], typed)
        assert (b.discount_refusal, b.discount_cents, b.discount_code) == (None, 0, "")


def test_an_inactive_code_is_refused_as_unknown(app, db):
    make_code("SPRING", is_active=False)

    _refused(_compute([line(1, 2000)], "spring"), "There is no discount code SPRING.")


def test_a_code_works_from_its_start_on(app, db):
    make_code("SPRING", starts_at=T)

    _refused(_compute([line(1, 2000)], "SPRING", now=T - ONE_SECOND), "The code SPRING is not valid yet.")
    # at the start itself it works: 10 % of 2000 = 200
    _applied(_compute([line(1, 2000)], "SPRING", now=T), "SPRING", 200)


def test_a_code_works_until_its_end(app, db):
    make_code("SPRING", ends_at=T)

    _applied(_compute([line(1, 2000)], "SPRING", now=T - ONE_SECOND), "SPRING", 200)
    # the end is not included
    _refused(_compute([line(1, 2000)], "SPRING", now=T), "The code SPRING has expired.")
    _refused(_compute([line(1, 2000)], "SPRING", now=T + ONE_SECOND), "The code SPRING has expired.")


def test_a_code_with_no_uses_left_is_refused(app, db):
    code = make_code("SPRING", max_uses=3, times_used=2)

    # one use left: it applies (10 % of 2000 = 200)
    _applied(_compute([line(1, 2000)], "SPRING"), "SPRING", 200)
    code.times_used = 3
    db.session.flush()
    _refused(_compute([line(1, 2000)], "SPRING"), "The code SPRING has been used up.")


def test_the_per_customer_limit_counts_an_accounts_orders(app, db):
    make_code("ONCE", max_uses_per_customer=1)
    shopper, other = make_user(), make_user()
    product = make_product(price_cents=2000, stock=10)
    place(user_cart(shopper, (product, 1)), shopper, discount_code="ONCE")
    db.session.commit()

    lines = [line(product.id, 2000)]
    message = "You have already used the code ONCE."
    _refused(_compute(lines, "once", customer=Customer(shopper.id, shopper.email)), message)
    # by the account alone, whatever the e-mail
    _refused(_compute(lines, "once", customer=Customer(shopper.id, "new-address@example.com")), message)
    # another customer still may: 10 % of 2000 = 200
    _applied(_compute(lines, "once", customer=Customer(other.id, other.email)), "ONCE", 200)


def test_the_per_customer_limit_counts_a_guests_orders_by_email(app, db):
    make_code("ONCE", max_uses_per_customer=1)
    product = make_product(price_cents=2000, stock=10)
    place(guest_cart((product, 1)), email="Guest@Example.com", discount_code="ONCE")
    db.session.commit()

    lines = [line(product.id, 2000)]
    # the e-mail is compared without regard to case
    _refused(
        _compute(lines, "ONCE", customer=Customer(email="GUEST@example.COM")),
        "You have already used the code ONCE.",
    )
    _applied(_compute(lines, "ONCE", customer=Customer(email="someone@example.com")), "ONCE", 200)
    # a guest who has not given an e-mail yet (the cart page) is not refused
    _applied(_compute(lines, "ONCE", customer=Customer()), "ONCE", 200)


def test_a_per_customer_limit_of_two_allows_a_second_use(app, db):
    make_code("TWICE", max_uses_per_customer=2)
    shopper = make_user()
    product = make_product(price_cents=2000, stock=10)
    me = Customer(shopper.id, shopper.email)
    place(user_cart(shopper, (product, 1)), shopper, discount_code="TWICE")
    db.session.commit()
    _applied(_compute([line(product.id, 2000)], "TWICE", customer=me), "TWICE", 200)

    place(user_cart(shopper, (product, 1)), shopper, discount_code="TWICE")
    db.session.commit()
    _refused(
        _compute([line(product.id, 2000)], "TWICE", customer=me), "You have already used the code TWICE."
    )


def test_a_code_below_its_minimum_subtotal_is_refused(app, db):
    make_code("BIG", min_subtotal_cents=5000)

    _refused(
        _compute([line(1, 2500), line(2, 2499)], "BIG"),  # 4999
        "The code BIG needs a subtotal of at least $50.00.",
    )
    # exactly the minimum, before the discount: 10 % of 5000 = 500
    _applied(_compute([line(1, 2500), line(2, 2500)], "BIG"), "BIG", 500)


def test_a_category_code_is_refused_for_other_products(app, db):
    shoes, books = make_category("Shoes"), make_category("Books")
    make_code("SHOES20", value=2000, category_id=shoes.id)

    _refused(
        _compute([line(1, 2000, category_id=books.id), line(2, 500)], "SHOES20"),
        "The code SHOES20 does not apply to the products in your cart.",
    )


def test_a_category_code_applies_to_its_lines_and_its_sub_categories(app, db):
    shoes, books = make_category("Shoes"), make_category("Books")
    running = make_category("Running", parent=shoes)
    trail = make_category("Trail", parent=running)
    make_code("SHOES20", value=2000, category_id=shoes.id)
    lines = [
        line(1, 5000, category_id=running.id),
        line(2, 2000, category_id=books.id),
        line(3, 1000, 2, category_id=trail.id),
        line(4, 700, category_id=shoes.id),
        line(5, 300),  # no category
    ]

    b = _compute(lines, "SHOES20")

    # eligible: 5000 + 2000 (trail, 2 x 1000) + 700 = 7700; 20 % = 1540, spread in
    # proportion: 1540 * 5000/7700 = 1000, 1540 * 2000/7700 = 400, 1540 * 700/7700 = 140
    _applied(b, "SHOES20", 1540)
    assert [lt.discount_cents for lt in b.lines] == [1000, 0, 400, 140, 0]
    # subtotal 5000 + 2000 + 2000 + 700 + 300 = 10000; 10000 - 1540 = 8460
    assert b.total_cents == 8460


def test_a_code_for_a_sub_category_does_not_reach_up_to_its_parent(app, db):
    shoes = make_category("Shoes")
    running = make_category("Running", parent=shoes)
    make_code("RUN", category_id=running.id)

    _refused(
        _compute([line(1, 2000, category_id=shoes.id)], "RUN"),
        "The code RUN does not apply to the products in your cart.",
    )


def test_refusals_are_checked_in_a_fixed_order(app, db):
    books = make_category("Books")
    make_code(
        "ALLBAD",
        ends_at=T,
        max_uses=1,
        times_used=1,
        min_subtotal_cents=10_000,
        category_id=make_category("Shoes").id,
    )
    lines = [line(1, 2000, category_id=books.id)]

    # expired, used up, below its minimum and not for books: expiry is said first
    _refused(_compute(lines, "ALLBAD", now=T), "The code ALLBAD has expired.")
    # not expired yet: used up comes next
    _refused(_compute(lines, "ALLBAD", now=T - ONE_SECOND), "The code ALLBAD has been used up.")


# --- amounts ----------------------------------------------------------------------------------


def test_a_percentage_is_rounded_once_and_spread_so_the_lines_add_up(app, db):
    make_code("FIFTEEN", value=1500)
    lines = [line(1, 1999), line(2, 1250, 2), line(3, 333)]

    b = _compute(lines, "FIFTEEN")

    # subtotal 1999 + 2500 + 333 = 4832; 15 % = 724.8 -> 725
    # spread over 1999 / 2500 / 333: floors 299 / 375 / 49 (723), remainders
    # 4507 / 500 / 4657 (of 4832): the 2 cents left go to the third and the first line
    _applied(b, "FIFTEEN", 725)
    assert [lt.discount_cents for lt in b.lines] == [300, 375, 50]
    # 4832 - 725 = 4107
    assert b.total_cents == 4107


def test_a_percentage_of_everything_makes_the_goods_free(app, db):
    make_code("ALL", value=10_000)
    make_method("Ground", price_cents=599)
    make_rate("US", 1000, "Sales tax")

    b = _compute([line(1, 1999), line(2, 1)], "ALL")

    _applied(b, "ALL", 2000)
    # goods free and untaxed; shipping 599 + 10 % (59.9 -> 60) still due
    assert [lt.tax_cents for lt in b.lines] == [0, 0]
    assert (b.tax_cents, b.total_cents) == (60, 659)


def test_a_fixed_amount_is_spread_over_the_lines(app, db):
    make_code("TENOFF", kind="fixed", value=1000)

    b = _compute([line(1, 1500), line(2, 500)], "TENOFF")

    # 1000 over 1500 / 500 = 750 / 250
    _applied(b, "TENOFF", 1000)
    assert [lt.discount_cents for lt in b.lines] == [750, 250]
    assert b.total_cents == 1000


def test_a_fixed_amount_is_never_more_than_the_eligible_lines(app, db):
    shoes, books = make_category("Shoes"), make_category("Books")
    make_code("FIFTY", kind="fixed", value=5000, category_id=shoes.id)

    b = _compute([line(1, 1200, category_id=shoes.id), line(2, 3000, category_id=books.id)], "FIFTY")

    # only the shoes (1200) can be discounted; the books (3000) are paid in full
    _applied(b, "FIFTY", 1200)
    assert [lt.discount_cents for lt in b.lines] == [1200, 0]
    assert b.total_cents == 3000


def test_a_fixed_amount_larger_than_the_order_makes_it_free(app, db):
    make_code("FIFTY", kind="fixed", value=5000)

    b = _compute([line(1, 1500), line(2, 500)], "FIFTY")

    _applied(b, "FIFTY", 2000)
    assert [lt.discount_cents for lt in b.lines] == [1500, 500]
    assert b.total_cents == 0


@pytest.mark.parametrize("typed", ["spring", "Spring", "  SPRING  ", "sPrInG"])
def test_codes_are_not_case_sensitive(app, db, typed):
    code = make_code("SPRING", value=2500)

    b = _compute([line(1, 4000)], typed)

    # 25 % of 4000 = 1000
    _applied(b, "SPRING", 1000)
    assert b.discount_code_id == code.id
    assert b.total_cents == 3000
