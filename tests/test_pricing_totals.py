"""The totals calculator (``shop.pricing.totals.compute``) on the real database: tax added
or included, per-line rounding, tax on shipping, tax rates by region and country, shipping
zones, flat / subtotal-band / weight-band prices, free shipping above a threshold, and
which method is picked.

Every expected figure is worked out by hand in the comments; none comes from the code.
"""

from __future__ import annotations

import pytest

from shop.pricing import totals
from tests.pricing_factories import line, make_code, make_method, make_rate


def _names(breakdown) -> list[str]:
    return [o.name for o in breakdown.shipping_options]


# --- tax added (US style) and included (EU style) -------------------------------------------


def test_prices_excluding_tax_add_the_tax_per_line_and_on_shipping(app, db):
    make_rate("US", 400, "US tax")
    make_rate("US", 530, "Virginia sales tax", region="VA")
    ground = make_method("Ground", countries=["US"], price_cents=599)
    lines = [line(1, 1999, 2), line(2, 500, 1)]

    b = totals.compute(lines, country="US", region="VA")

    # subtotal 1999 * 2 + 500 = 4498
    assert b.subtotal_cents == 4498
    assert b.discount_cents == 0 and b.discount_code == "" and b.discount_refusal is None
    # line 1: 3998 * 5.3 % = 211.894 -> 212; line 2: 500 * 5.3 % = 26.5 -> 27 (half up)
    assert [(lt.subtotal_cents, lt.discount_cents, lt.tax_cents, lt.tax_rate_bp) for lt in b.lines] == [
        (3998, 0, 212, 530),
        (500, 0, 27, 530),
    ]
    # shipping 599 * 5.3 % = 31.747 -> 32
    assert (b.shipping_method_id, b.shipping_method_name, b.shipping_cents) == (ground.id, "Ground", 599)
    assert b.shipping_tax_cents == 32
    # tax 212 + 27 + 32 = 271; total 4498 + 599 + 271 = 5368
    assert b.tax_cents == 271
    assert b.total_cents == 5368
    assert (b.tax_name, b.tax_rate_bp, b.prices_include_tax) == ("Virginia sales tax", 530, False)
    assert (b.currency, b.country, b.region, b.ships) == ("USD", "US", "VA", True)


def test_prices_including_tax_show_the_tax_inside_an_unchanged_total(app, db):
    app.config["PRICES_INCLUDE_TAX"] = True
    make_rate("DE", 1900, "MwSt.")
    make_method("DHL Paket", countries=["DE"], price_cents=490)
    lines = [line(1, 1190, 1), line(2, 2500, 2)]

    b = totals.compute(lines, country="DE")

    # tax inside a gross amount: amount * 1900 / 11900
    # 1190 -> 190 exactly; 5000 -> 798.319 -> 798; shipping 490 -> 78.235 -> 78
    assert [lt.tax_cents for lt in b.lines] == [190, 798]
    assert b.shipping_tax_cents == 78
    assert b.tax_cents == 190 + 798 + 78 == 1066
    # the total is what the prices say: 1190 + 5000 + 490 = 6680, tax not added again
    assert b.subtotal_cents == 6190
    assert b.total_cents == 6680
    assert b.prices_include_tax is True
    assert (b.tax_name, b.tax_rate_bp) == ("MwSt.", 1900)


def test_the_same_cart_with_prices_excluding_tax_adds_it(app, db):
    app.config["PRICES_INCLUDE_TAX"] = False
    make_rate("DE", 1900, "MwSt.")
    make_method("DHL Paket", countries=["DE"], price_cents=490)
    lines = [line(1, 1190, 1), line(2, 2500, 2)]

    b = totals.compute(lines, country="DE")

    # amount * 19 %: 1190 -> 226.1 -> 226; 5000 -> 950; shipping 490 -> 93.1 -> 93
    assert [lt.tax_cents for lt in b.lines] == [226, 950]
    assert b.shipping_tax_cents == 93
    assert b.tax_cents == 1269
    # 6190 + 490 + 1269 = 7949
    assert b.total_cents == 7949
    assert b.prices_include_tax is False


def test_tax_is_rounded_per_line_not_on_the_sum(app, db):
    make_rate("US", 1000, "Sales tax")
    lines = [line(1, 5), line(2, 5), line(3, 5)]

    b = totals.compute(lines, country="US")

    # each line: 5 * 10 % = 0.5 -> 1, so 3 in all; rounding the sum would give
    # 15 * 10 % = 1.5 -> 2
    assert [lt.tax_cents for lt in b.lines] == [1, 1, 1]
    assert b.tax_cents == 3
    assert b.total_cents == 15 + 3


def test_included_tax_is_rounded_per_line_too(app, db):
    app.config["PRICES_INCLUDE_TAX"] = True
    make_rate("US", 1000, "Sales tax")
    lines = [line(1, 5), line(2, 5), line(3, 5)]

    b = totals.compute(lines, country="US")

    # each line: 5 * 1000 / 11000 = 0.4545 -> 0; the sum would give 15 / 11 = 1.36 -> 1
    assert [lt.tax_cents for lt in b.lines] == [0, 0, 0]
    assert b.tax_cents == 0
    assert b.total_cents == 15


def test_tax_is_on_each_line_after_its_share_of_the_discount(app, db):
    make_rate("US", 530, "Virginia sales tax", region="VA")
    make_code("TENOFF", value=1000)
    lines = [line(1, 1000, 1), line(2, 3000, 1)]

    b = totals.compute(lines, country="US", region="VA", code="TENOFF")

    # discount 10 % of 4000 = 400, spread 100 / 300 over the lines
    # line 1: (1000 - 100) * 5.3 % = 47.7 -> 48 (not 1000 * 5.3 % = 53)
    # line 2: (3000 - 300) * 5.3 % = 143.1 -> 143
    assert [(lt.discount_cents, lt.tax_cents) for lt in b.lines] == [(100, 48), (300, 143)]
    assert b.tax_cents == 191
    # 4000 - 400 + 191 = 3791
    assert b.total_cents == 3791


# --- tax rates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "name", "rate_bp"),
    [
        ("VA", "Virginia sales tax", 530),
        (" va ", "Virginia sales tax", 530),  # matched without case or surrounding spaces
        ("TX", "US tax", 400),  # no rate of its own: the country's
        ("", "US tax", 400),
    ],
)
def test_a_regions_rate_is_used_over_its_countrys(app, db, region, name, rate_bp):
    make_rate("US", 400, "US tax")
    make_rate("US", 530, "Virginia sales tax", region="VA")

    b = totals.compute([line(1, 10_000)], country="US", region=region)

    # 10000 * rate / 10000 = the rate in cents
    assert (b.tax_name, b.tax_rate_bp, b.tax_cents) == (name, rate_bp, rate_bp)
    assert b.total_cents == 10_000 + rate_bp


def test_an_inactive_regional_rate_falls_back_to_the_country(app, db):
    make_rate("US", 400, "US tax")
    make_rate("US", 530, "Virginia sales tax", region="VA", is_active=False)

    b = totals.compute([line(1, 10_000)], country="US", region="VA")

    assert (b.tax_name, b.tax_rate_bp, b.tax_cents) == ("US tax", 400, 400)


def test_no_rate_means_no_tax(app, db):
    make_rate("US", 400, "US tax")
    make_rate("DE", 1900, "MwSt.", is_active=False)
    make_method("Anywhere", price_cents=1000)

    for country, region in (("FR", ""), ("DE", ""), ("CA", "QC")):
        b = totals.compute([line(1, 10_000)], country=country, region=region)
        assert (b.tax_name, b.tax_rate_bp, b.tax_cents, b.shipping_tax_cents) == ("", 0, 0, 0)
        assert [lt.tax_cents for lt in b.lines] == [0]
        # 10000 + shipping 1000, nothing more
        assert b.total_cents == 11_000


def test_a_country_with_only_regional_rates_taxes_only_those_regions(app, db):
    make_rate("US", 600, "Tennessee sales tax", region="TN")

    assert totals.compute([line(1, 10_000)], country="US", region="TN").tax_cents == 600
    untaxed = totals.compute([line(1, 10_000)], country="US", region="OR")
    assert (untaxed.tax_cents, untaxed.tax_name, untaxed.total_cents) == (0, "", 10_000)


def test_the_country_code_is_taken_in_either_case(app, db):
    make_rate("DE", 1900, "MwSt.")
    make_method("DHL Paket", countries=["DE"], price_cents=490)

    b = totals.compute([line(1, 1000)], country="de")

    # 1000 * 19 % = 190; 490 * 19 % = 93.1 -> 93
    assert (b.country, b.shipping_method_name, b.tax_cents) == ("DE", "DHL Paket", 190 + 93)


# --- shipping zones -------------------------------------------------------------------------


def test_methods_are_offered_only_where_they_ship(app, db):
    make_method("EU Post", countries=["DE", "FR"], price_cents=500)
    make_method("US Ground", countries=["US"], price_cents=700)
    make_method("World", countries=[], price_cents=2500)  # no countries: everywhere
    make_method("Retired", countries=[], price_cents=100, is_active=False)
    lines = [line(1, 1000)]

    assert _names(totals.compute(lines, country="US")) == ["US Ground", "World"]
    assert _names(totals.compute(lines, country="DE")) == ["EU Post", "World"]
    assert _names(totals.compute(lines, country="FR")) == ["EU Post", "World"]
    assert _names(totals.compute(lines, country="JP")) == ["World"]


def test_a_method_serving_only_germany_is_not_offered_in_the_us(app, db):
    make_method("DHL Paket", countries=["DE"], price_cents=490)

    b = totals.compute([line(1, 1000)], country="US")

    assert b.ships is False
    assert b.shipping_options == ()
    assert (b.shipping_method_id, b.shipping_method_name, b.shipping_cents) == (None, "", 0)


def test_a_shop_without_active_methods_ships_everywhere_for_free(app, db):
    make_method("Retired", countries=["US"], price_cents=999, is_active=False)
    make_rate("US", 1000, "Sales tax")

    b = totals.compute([line(1, 1000)], country="US")

    assert b.ships is True
    assert b.shipping_options == ()
    assert (b.shipping_method_id, b.shipping_cents, b.shipping_tax_cents) == (None, 0, 0)
    # 1000 + 10 % = 1100
    assert b.total_cents == 1100


def test_an_empty_cart_costs_nothing(app, db):
    make_method("Ground", price_cents=599)
    make_rate("US", 1000, "Sales tax")

    b = totals.compute([], country="US")

    assert (b.subtotal_cents, b.shipping_cents, b.tax_cents, b.total_cents) == (0, 0, 0, 0)
    assert b.ships is True


# --- shipping prices ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subtotal", "price"),
    [
        (1, 700),
        (4999, 700),  # exactly at the first band's up_to: still the first band
        (5000, 500),
        (9999, 500),  # exactly at the last band's up_to
    ],
)
def test_subtotal_bands(app, db, subtotal, price):
    make_method("Standard", rate_kind="subtotal", bands=[[4999, 700], [9999, 500]])

    b = totals.compute([line(1, subtotal)], country="US")

    assert (b.shipping_method_name, b.shipping_cents) == ("Standard", price)
    assert b.total_cents == subtotal + price


def test_beyond_the_last_subtotal_band_the_method_is_not_offered(app, db):
    make_method("Standard", rate_kind="subtotal", bands=[[4999, 700], [9999, 500]])

    b = totals.compute([line(1, 10_000)], country="US")

    assert b.shipping_options == ()
    assert b.ships is False


def test_subtotal_bands_are_read_in_order_whatever_order_they_were_stored_in(app, db):
    make_method("Standard", rate_kind="subtotal", bands=[[9999, 500], [4999, 700]])

    assert totals.compute([line(1, 4000)], country="US").shipping_cents == 700


def test_subtotal_bands_use_the_subtotal_after_the_discount(app, db):
    make_method("Standard", rate_kind="subtotal", bands=[[4999, 700], [9999, 500]])
    make_code("TENOFF", value=1000)

    # 5400 - 10 % (540) = 4860: the first band, though 5400 alone is in the second
    assert totals.compute([line(1, 5400)], country="US").shipping_cents == 500
    assert totals.compute([line(1, 5400)], country="US", code="TENOFF").shipping_cents == 700


@pytest.mark.parametrize(
    ("lines", "parcel"),
    [
        ([line(1, 1000, 2, weight_grams=500)], 400),  # 2 x 500 g = 1000 g: exactly the first band
        ([line(1, 1000, 1, weight_grams=1001)], 900),  # 1001 g: the second band
        ([line(1, 1000, 1, weight_grams=300), line(2, 1000, 3, weight_grams=1000)], 900),  # 3300 g
        ([line(1, 1000, 5, weight_grams=1000)], 900),  # 5000 g: exactly the last band
        ([line(1, 1000, 1, weight_grams=0)], 400),  # weightless is a known weight
        ([line(1, 1000, 1, weight_grams=5001)], None),  # beyond the last band
        ([line(1, 1000, 1, weight_grams=10), line(2, 1000, 1)], None),  # one weight unknown
    ],
)
def test_weight_bands(app, db, lines, parcel):
    make_method("Parcel", rate_kind="weight", bands=[[1000, 400], [5000, 900]])
    make_method("Freight", price_cents=5000)

    b = totals.compute(lines, country="US")

    if parcel is None:
        assert _names(b) == ["Freight"]
        assert (b.shipping_method_name, b.shipping_cents) == ("Freight", 5000)
    else:
        assert _names(b) == ["Parcel", "Freight"]
        assert (b.shipping_method_name, b.shipping_cents) == ("Parcel", parcel)


@pytest.mark.parametrize(
    ("subtotal", "shipping", "tax", "total"),
    [
        # 4999 * 10 % = 499.9 -> 500; shipping 599 * 10 % = 59.9 -> 60;
        # 4999 + 599 + 500 + 60 = 6158
        (4999, 599, 560, 6158),
        # exactly at the threshold: free; 5000 + 500 = 5500
        (5000, 0, 500, 5500),
        # 12000 + 1200 = 13200
        (12_000, 0, 1200, 13_200),
    ],
)
def test_free_shipping_from_the_threshold_on(app, db, subtotal, shipping, tax, total):
    make_method("Ground", price_cents=599, free_above_cents=5000)
    make_rate("US", 1000, "Sales tax")

    b = totals.compute([line(1, subtotal)], country="US")

    assert (b.shipping_method_name, b.shipping_cents) == ("Ground", shipping)
    assert (b.tax_cents, b.total_cents) == (tax, total)


def test_a_discount_can_push_an_order_below_the_free_shipping_threshold(app, db):
    make_method("Ground", price_cents=599, free_above_cents=5000)
    make_code("TENOFF", value=1000)

    plain = totals.compute([line(1, 5200)], country="US")
    # 5200 >= 5000: free
    assert (plain.shipping_cents, plain.total_cents) == (0, 5200)

    discounted = totals.compute([line(1, 5200)], country="US", code="TENOFF")
    # 5200 - 520 = 4680 < 5000: shipping is charged; 4680 + 599 = 5279
    assert discounted.discount_cents == 520
    assert (discounted.shipping_cents, discounted.total_cents) == (599, 5279)


# --- which method -----------------------------------------------------------------------------


def test_the_cheapest_method_is_picked_and_ties_go_to_the_staffs_order(app, db):
    make_method("Express", price_cents=1500, position=0)
    ground = make_method("Ground", price_cents=599, position=1)
    make_method("Economy", price_cents=599, position=2)

    b = totals.compute([line(1, 1000)], country="US")

    assert _names(b) == ["Ground", "Economy", "Express"]
    assert (b.shipping_method_id, b.shipping_method_name, b.shipping_cents) == (ground.id, "Ground", 599)
    assert b.total_cents == 1599


def test_a_chosen_method_is_honoured(app, db):
    express = make_method("Express", price_cents=1500, position=0)
    make_method("Ground", price_cents=599, position=1)
    make_rate("US", 1000, "Sales tax")

    b = totals.compute([line(1, 1000)], country="US", shipping_method_id=express.id)

    # 1000 + 1500 + 10 % of each (100 + 150) = 2750
    assert (b.shipping_method_id, b.shipping_method_name, b.shipping_cents) == (express.id, "Express", 1500)
    assert (b.shipping_tax_cents, b.tax_cents, b.total_cents) == (150, 250, 2750)


def test_a_chosen_method_that_cannot_ship_here_gives_way_to_the_cheapest(app, db):
    dhl = make_method("DHL Paket", countries=["DE"], price_cents=490)
    ground = make_method("Ground", countries=["US"], price_cents=599)

    b = totals.compute([line(1, 1000)], country="US", shipping_method_id=dhl.id)

    # compute reports, it never refuses: place_order refuses this choice (tested there)
    assert (b.shipping_method_id, b.shipping_cents) == (ground.id, 599)


def test_a_free_threshold_does_not_lift_a_weight_limit(app, db):
    # A parcel method free from $50.00 but taking at most 5 kg: a $100.00 order of 6 kg
    # (2 x 3000 g) is over its limit, and one of unknown weight cannot be weighed; neither
    # is offered, free or not. Under the limit it is free.
    make_method("Parcel", countries=["US"], rate_kind="weight", bands=[[5000, 900]], free_above_cents=5000)

    heavy = totals.compute([line(1, 5000, 2, weight_grams=3000)], country="US")
    unknown = totals.compute([line(1, 10_000, 1, weight_grams=None)], country="US")
    light = totals.compute([line(1, 10_000, 1, weight_grams=1500)], country="US")

    for b in (heavy, unknown):
        assert not b.ships and b.shipping_options == ()
        assert b.shipping_refusal == (
            "None of our shipping methods to United States can take this order "
            "(its weight is unknown or over their limit)."
        )
    assert light.ships and (light.shipping_method_name, light.shipping_cents) == ("Parcel", 0)


def test_a_country_no_method_serves_is_named(app, db):
    make_method("Domestic", countries=["US"], price_cents=500)

    b = totals.compute([line(1, 1000)], country="DE")

    assert not b.ships and b.shipping_refusal == "We do not ship to Germany."
