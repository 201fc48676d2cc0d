"""Spelling correction: which indexed word a shopper meant by one the index does not know
(:mod:`shop.search.spelling`), on both databases."""

from __future__ import annotations

import pytest

from shop.search.backends import get_backend
from shop.search.query import analyze
from shop.search.services import SearchParams, search
from shop.search.spelling import FAR_KEY_COST, near_keys, typing_cost
from tests.factories import make_product


@pytest.mark.parametrize(
    ("typed", "intended", "cost"),
    [
        ("tripod", "tripod", 0.0),
        ("tripd", "tripod", 1.0),  # a letter left out
        ("latpop", "laptop", 1.0),  # two letters swapped
        ("mpuse", "mouse", 1.0),  # p touches o
        ("tripd", "tripp", FAR_KEY_COST),  # d is nowhere near p
        ("payer", "paper", FAR_KEY_COST),  # nor y
        ("payer", "player", 1.0),
        ("carrd", "card", 1.0),  # a letter doubled
        ("cartd", "card", 1.0),  # t touches r
    ],
)
def test_typing_cost_makes_the_commonest_errors_cheapest(typed, intended, cost):
    assert typing_cost(typed, intended) == cost


def test_a_far_key_struck_in_excess_costs_more_than_a_near_one():
    assert typing_cost("camrd", "card") == FAR_KEY_COST  # m is nowhere near a or r
    assert typing_cost("casrd", "card") == 1.0  # s touches a
    assert near_keys("s", "z") and near_keys("s", "e") and not near_keys("s", "r")


def test_a_misspelling_is_read_as_the_word_one_common_error_away(db):
    # "tripd" is one edit from the brand "Tripp" (d struck for p) and from "tripod" (o
    # left out); the brand is in more products, the error that explains "tripod" is the
    # commoner one. Likewise "payer": paper (y for p) or player (l left out).
    for i in range(4):
        make_product(f"Tripp Lite UPS battery {i}", brand="Tripp Lite", sku=f"U{i}")
        make_product(f"Epson photo paper A4 {i}", brand="Epson", sku=f"P{i}")
    make_product("Manfrotto compact tripod", brand="Manfrotto", sku="T1")
    make_product("Sony portable DVD player", brand="Sony", sku="D1")
    db.session.commit()
    backend = get_backend(db.session)
    assert analyze("tripd", backend).did_you_mean == "tripod"
    assert analyze("dvd payer", backend).did_you_mean == "dvd player"
    found = search(SearchParams(q="tripd"), with_facets=False)
    assert [p.sku for p in found.products] == ["T1"]


def _laptops_and(db, *titles: str) -> None:
    """Three laptops (SKUs L0 to L2) and one product for each of ``titles``, committed."""
    for i in range(3):
        make_product(f"Lenovo ThinkPad laptop {i}", brand="Lenovo", sku=f"L{i}")
    for i, title in enumerate(titles):
        make_product(title, sku=f"A{i}")
    db.session.commit()


def _found(q: str) -> list[str]:
    """The SKUs of the first page of results for ``q``, sorted."""
    return sorted(p.sku for p in search(SearchParams(q=q), with_facets=False).products)


def test_a_misspelling_is_not_taken_apart_when_the_word_it_misspells_is_commoner(db):
    # "latpop" is one edit from "laptop" (two letters swapped) and from "lat pop" (a
    # space left out); more products have "laptop" than that phrase.
    _laptops_and(db, "Lat pop art poster", "Lat lamp")
    plan = analyze("latpop", get_backend(db.session))
    assert plan.did_you_mean == "laptop" and plan.reading == "laptop"
    assert not plan.groups[0].parts
    assert _found("latpop") == ["L0", "L1", "L2"]


def test_a_letter_glued_to_a_word_is_read_apart_unless_a_near_key_explains_it(db):
    for i in range(3):
        make_product(f"Acme AA battery {i}", sku=f"AA{i}")
    make_product("Acme alkaline D battery", sku="D1")
    make_product("Acme battery size D", sku="D2")
    db.session.commit()
    backend = get_backend(db.session)
    # "dbattery": a space left out (d battery) or a d struck far from the b (battery):
    # the first is the commoner error.
    plan = analyze("dbattery", backend)
    assert plan.reading == "d battery" and plan.did_you_mean is None
    assert sorted(p.sku for p in search(SearchParams(q="dbattery"), with_facets=False).products[:2]) == [
        "D1",
        "D2",
    ]
    # "vbattery": v touches b, one common error either way; more products have "battery"
    # than the phrase "v battery".
    assert analyze("vbattery", backend).did_you_mean == "battery"


def test_two_words_no_product_has_together_are_not_what_was_meant(db):
    # "labtop": b for p is a far key (a space left out is the commoner error), but no
    # product has "lab top"; the laptops are what was meant.
    _laptops_and(db, "Acme lab coat", "Acme top case")
    plan = analyze("labtop", get_backend(db.session))
    assert plan.did_you_mean == "laptop" and not plan.groups[0].parts
    assert _found("labtop") == ["L0", "L1", "L2"]
