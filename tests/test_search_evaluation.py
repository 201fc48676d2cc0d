"""Search quality measures: NDCG@k (DESIGN.md "Search quality") and the query forms
scored with the ratings of the query as rated."""

from __future__ import annotations

import math

import pytest

from shop.search.evaluation import evaluate, evaluate_forms, ndcg, query_forms, typo_forms


def test_ndcg_gains_discounts_and_skips_queries_without_a_relevant_product():
    rated = {"A": 3, "B": 1, "C": 0}
    assert ndcg(["A", "B"], rated) == pytest.approx(1.0)
    # B then A: (1 + 7/log2(3)) / (7 + 1/log2(3)); an unrated product counts as 0.
    assert ndcg(["B", "A"], rated) == pytest.approx((1 + 7 / math.log2(3)) / (7 + 1 / math.log2(3)))
    assert ndcg(["X", "C"], rated) == 0.0
    assert ndcg(["A"], {"A": 0}) is None


@pytest.mark.parametrize(
    ("query", "forms"),
    [
        ("sd card", {"number": "sd cards", "joined": "sdcard", "hyphenated": "sd-card"}),
        ("batteries", {"number": "battery"}),
        (
            "rechargeable battery",
            {
                "number": "rechargeable batteries",
                "joined": "rechargeablebattery",
                "hyphenated": "rechargeable-battery",
            },
        ),
        ("gps watches", {"number": "gps watch", "joined": "gpswatches", "hyphenated": "gps-watches"}),
        ("windows 10", {"joined": "windows10", "hyphenated": "windows-10"}),
        ("tv", {}),
        ("", {}),
    ],
)
def test_query_forms_are_the_other_ways_shoppers_type_a_query(query, forms):
    found = query_forms(query)
    assert {k: v for k, v in found.items() if k in ("number", "joined", "hyphenated")} == forms


def test_the_longest_word_misspelt_once_at_its_middle_letter():
    assert {
        k: v for k, v in query_forms("usb keyboard").items() if k not in ("number", "joined", "hyphenated")
    } == {
        "swapped": "usb keybaord",
        "dropped": "usb keybard",
        "doubled": "usb keybooard",
    }
    assert "swapped" not in query_forms("aa tv") and "dropped" not in query_forms("4k")


def test_each_form_is_scored_with_the_ratings_of_its_query():
    labels = {"1": {"CARD": 3, "CASE": 1}, "2": {"X": 0}}
    answers = {"sd card": ["CARD", "CASE"], "sdcard": ["CASE"], "sd-card": ["CARD"], "sd cards": []}
    ranker = lambda q: answers.get(q, [])  # noqa: E731
    mean, scores = evaluate({"1": "sd card", "2": "nothing rated"}, labels, ranker)
    assert mean == pytest.approx(1.0) and [s.query_id for s in scores] == ["1"]
    by_form = evaluate_forms({"1": "sd card", "2": "nothing rated"}, labels, ranker)
    ideal = 7 + 1 / math.log2(3)
    assert by_form["joined"] == (1, pytest.approx(1.0), pytest.approx(1 / ideal))
    assert by_form["hyphenated"] == (1, pytest.approx(1.0), pytest.approx(7 / ideal))
    assert by_form["number"] == (1, pytest.approx(1.0), 0.0)
    assert set(by_form) == {"number", "joined", "hyphenated"}  # "sd card" has no 5-letter word


def test_typo_forms_misspell_the_longest_word_at_each_inner_letter():
    forms = typo_forms("usb mouse")
    # m, u, s: three inner letters, three errors each.
    assert len(forms) == 9
    assert ("dropped", "usb mose") in forms and ("swapped", "usb moues") in forms
    assert ("doubled", "usb mouuse") in forms
    assert all(text.startswith("usb ") for _, text in forms)
    # Two equal letters swapped are no misspelling; a short word has none.
    assert ("swapped", "usb spoon") not in typo_forms("usb spoon") and typo_forms("aa tv") == []


def test_each_typo_is_scored_with_the_ratings_of_its_query():
    labels = {"1": {"M": 3}}
    ranker = lambda q: ["M"] if q in ("mouse", "mose") else []  # noqa: E731
    by_kind = evaluate_forms({"1": "mouse"}, labels, ranker, forms=typo_forms)
    # One of the three dropped letters ("mose") still finds the mouse.
    assert by_kind["dropped"] == (3, pytest.approx(1.0), pytest.approx(1 / 3))
    assert by_kind["swapped"] == (3, pytest.approx(1.0), 0.0)
