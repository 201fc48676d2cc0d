"""The importer's category rules: a title's kind decides its category, not every word in it."""

from __future__ import annotations

import pytest

from shop.catalog.categorize import load_categorizer


@pytest.mark.parametrize(
    ("title", "leaf"),
    [
        # The kind comes after the words that modify it.
        ("HP NS09 Notebook Battery", "batteries-chargers"),
        ("Kensington Contour 17'' Laptop Roller- Black", "bags-cases"),
        ("Integral IN2V2GNWNEX 2GB LAPTOP RAM MODULE DDR2 667MHZ", "memory"),
        ("Origin Storage Laptop Internal UK Keyboard for D410", "keyboards-mice"),
        # Specifications after the name do not count ("DDR2-SDRAM", "Windows").
        (
            'HP EliteBook 6930p Notebook PC 35.8 cm (14.1") 1440 x 900 pixels Intel Core2 Duo 2 GB '
            "DDR2-SDRAM 250 GB Windows Vista Business",
            "laptops",
        ),
        # The lower-case Icecat kind beats capitalized names and attributes around it.
        ("HP SlimFit Notebook Sleeve notebook case Gray", "bags-cases"),
        ("Targus ASF154WEU screen protector Desktop/Laptop Universal", "laptop-parts-docks"),
        ("Vertiv Avocent ACS 6048 KVM switch Rack mounting Black", "switches-routers"),
        ("Canon 2598A001 camera lens filter 6.7 cm Camera protection filter", "cameras"),
        # A pack size ("50 pc(s)") is not a personal computer.
        ("Verbatim CD-R 700 MB 50 pc(s)", "storage"),
        ("HP 90 Original Yellow 1 pc(s) ink cartridge", "toner-ink"),
    ],
)
def test_title_kind_decides_the_category(title, leaf):
    assert load_categorizer().leaf_for(title) == leaf


def test_vetoed_rule_does_not_win_and_nothing_found_is_none():
    categorizer = load_categorizer()
    # "notebook" alone would say Laptops; the rule's "notebook case" veto leaves Bags.
    assert categorizer.head_leaf("notebook case") == "bags-cases"
    assert categorizer.head_leaf("notebook") == "laptops"
    assert categorizer.head_leaf("zzz qqq") is None
    assert categorizer.leaf_for("zzz qqq") == categorizer.fallback


def test_product_type_is_stronger_than_the_title():
    assert load_categorizer().leaf_for("Acme X1 keyboard", product_type="Notebook") == "laptops"
