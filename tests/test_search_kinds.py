"""Product kind: read from titles, named by queries, shoppers' words learned from the
catalog's categories; products of the kind a query names rank above products for it."""

from __future__ import annotations

import pytest

from shop.search.backends import get_backend
from shop.search.fieldwise import query_words
from shop.search.kinds import (
    expand_plan,
    expansions,
    kind_heads,
    kind_weight,
    learn_vocabulary,
    names_kind,
    query_head,
    query_kinds,
)
from shop.search.params import SearchParams
from shop.search.query import Alternative, Group, QueryPlan, analyze
from shop.search.services import ranked_skus, search
from tests.factories import make_category, make_product


@pytest.mark.parametrize(
    ("title", "heads"),
    [
        ("Canon 2598A001 camera lens filter 6.7 cm Camera protection filter", {"filter"}),
        ("Kensington MicroSaver Keyed Laptop Lock", {"lock"}),
        ('Lenovo ThinkPad T450 Notebook 35.6 cm (14") Intel Core i5', {"notebook"}),
        ("Lexmark 08A0476 toner cartridge Original Black 1 pc(s)", {"cartridge"}),
        # A name written in camel case is no kind: the title names none.
        ("Sandberg FireWire for Laptop (3 ports)", set()),
        ('DELL UltraSharp U2720Q 68.6 cm (27") 3840 x 2160 pixels 4K Ultra HD LCD Black', set()),
        ("Logitech Slim Folio For iPad Air (3rd gen)", {"folio"}),
        ("StarTech.com 3 ft Cat5e Purple Molded RJ45 UTP Patch Cable - 3ft Patch Cord", {"cable"}),
        ("Kensington Contour 17'' Laptop Roller- Black", {"roller"}),
        ("Crayola 24 pc(s)", set()),
        ("HP 15 Original Black 1 pc(s)", set()),
    ],
)
def test_kind_heads_read_the_kind_a_title_names(title, heads):
    assert kind_heads(title) == heads


def test_a_query_names_its_kind_with_its_last_word():
    assert query_head(["laptop", "case"]) == "case"
    assert query_head(["cameras"]) == "camera"
    # The kind a title names in the singular ("Acme GPS watch"), in a plural taking "es".
    assert query_head(["gps", "watches"]) == "watch" and "watch" in kind_heads("Acme Trek GPS watch black")
    assert query_head(["tn", "2110"]) == "tn"
    assert query_head(["2110"]) is None
    # What follows "for" or "with" is what the kind is for or comes with.
    assert query_head(["charger", "for", "laptops"]) == "charger"
    assert query_head(["usb", "mouse", "with", "pad"]) == "mouse"
    assert query_head(["for", "kids"]) == "kid"


def test_shoppers_words_for_kinds_are_learned_from_the_category_names():
    rows = [(f"Acme X{i} Notebook 35.6 cm", "Laptops") for i in range(8)]
    rows += [
        ("Acme L1 Laptop Lock", "Laptop parts & docks"),
        ("Acme D2 docking station", "Laptop parts & docks"),
    ]
    rows += [(f"Acme T{i} LED TV", "Monitors & TVs") for i in range(3)] + [
        ("Acme M1 monitor", "Monitors & TVs")
    ]
    vocab = learn_vocabulary(rows)
    # "Laptops" holds notebooks: the shopper's word stands for the catalog's.
    assert vocab["aliases"]["laptop"] == ["notebook"]
    # "TVs" are TVs in the titles too: no alias; the word is a kind of its own.
    assert "tv" not in vocab["aliases"] and vocab["heads"]["tv"] == 3
    assert query_kinds(["laptop"], vocab) == {"notebook": 0.5}
    assert query_kinds(["led", "tv"], vocab) == {"tv": 1.0}
    assert query_kinds(["laptop", "lock"], vocab) == {"lock": 1.0}
    assert query_kinds(["netflix"], vocab) == {}
    # Words naming a kind: the category names' (also as shoppers' words), the titles'.
    assert {"laptop", "tv", "notebook", "lock", "monitor", "part", "dock"} <= vocab["kinds"]
    kinds = vocab["kinds"]
    assert names_kind("Laptops", kinds) and names_kind("TVs", kinds) and not names_kind("acme", kinds)


def test_a_word_ending_model_names_more_often_than_naming_a_kind_is_no_kind():
    rows = [(f"Acme Slate {i} Pro tablet", "Tablets") for i in range(8)]
    rows += [("Acme Studio Pro", "Tablets"), ("Acme mechanical keyboard", "Keyboards & mice")]
    vocab = learn_vocabulary(rows)
    # "pro" heads one title of the nine using it.
    kinds = vocab["kinds"]
    assert vocab["heads"]["pro"] == 1 and not names_kind("pro", kinds)
    assert names_kind("tablet", kinds) and names_kind("keyboard", kinds)
    assert not names_kind("mechanical", kinds)


def test_a_shoppers_word_the_titles_of_its_category_lack_searches_the_catalogs_word():
    rows = [(f"Acme X{i} Notebook 35.6 cm", "Laptops") for i in range(8)]
    # The cartridges' titles say "ink" although their kind is "cartridge": the word
    # reaches them.
    rows += [(f"Acme C{i} ink cartridge Black", "Ink") for i in range(8)]
    rows += [(f"Acme K{i} keyboard", "Keyboards & mice") for i in range(5)]
    rows += [(f"Acme M{i} mouse", "Keyboards & mice") for i in range(4)]
    vocab = learn_vocabulary(rows)
    assert vocab["aliases"]["ink"] == ["cartridge"] and "ink" not in vocab["expand"]
    # The name lists keyboards apart from mice: "mice" stands for mice only.
    assert vocab["expand"] == {"laptop": ["notebook"], "mice": ["mouse"]}
    assert expansions(["acme", "laptops"], vocab) == {"laptops": {"notebook": 0.5}}
    assert expansions(["laptop", "lock"], vocab) == {}
    plan = QueryPlan(
        "acme laptops",
        [Group("acme", [Alternative(("acme",))]), Group("laptops", [Alternative(("laptops",))])],
    )
    wider = expand_plan(plan, vocab)
    assert wider.groups[1].alternatives == [Alternative(("laptops",)), Alternative(("notebook",))]
    assert wider.groups[0] is plan.groups[0] and len(plan.groups[1].alternatives) == 1
    # A corrected word is expanded by its correction.
    typo = QueryPlan(
        "labtop", [Group("labtop", [Alternative(("labtop",)), Alternative(("laptop",))], "laptop")], "laptop"
    )
    assert Alternative(("notebook",)) in expand_plan(typo, vocab).groups[0].alternatives
    assert expand_plan(QueryPlan("ink", [Group("ink", [Alternative(("ink",))])]), vocab).groups[
        0
    ].alternatives == [Alternative(("ink",))]


def test_the_product_type_names_a_kind_too():
    asked = {"notebook": 0.5}
    assert kind_weight("HP Compaq 615 Notebook PC", asked) == 0.0
    assert kind_weight("HP Compaq 615 Notebook PC", asked, "Notebooks") == 0.5
    assert kind_weight("HP Compaq 615 Notebook PC", asked, "") == 0.0


def test_a_query_in_the_shoppers_word_finds_products_titled_in_the_catalogs(db):
    computers = make_category("Computers", slug="computers")
    laptops = make_category("Laptops", parent=computers, slug="laptops")
    docks = make_category("Laptop parts & docks", parent=computers, slug="laptop-parts-docks")
    for i in range(6):
        make_product(f"Acme X{i} Notebook 35.6 cm Intel Core i5 8 GB", sku=f"NB{i}", category=laptops)
    for i in range(30):
        make_product(f"Acme L{i} Laptop Lock", sku=f"LOCK{i}", category=docks)
    # Filed elsewhere, titled with the catalog's word only.
    make_product("Acme X9 Notebook 39.6 cm", sku="NB-ELSEWHERE", category=computers)
    db.session.commit()
    found = ranked_skus("laptop", 40)
    assert "NB-ELSEWHERE" in found, found
    top = ranked_skus("laptop", 8)
    assert {f"NB{i}" for i in range(6)} <= set(top), top
    # Typed as the catalog's own word in the category's titles, nothing is added.
    assert "NB-ELSEWHERE" not in ranked_skus("laptop lock", 40)


def test_products_of_the_kind_named_rank_above_accessories_for_it(db):
    cameras = make_category("Cameras & lenses", parent=make_category("Audio & video"), slug="cameras")
    for i in range(4):
        make_product(f"Acme C{i} camera lens 52 mm", sku=f"LENS{i}", category=cameras)
        make_product(f"Acme B{i} camera bag", sku=f"BAG{i}", category=cameras)
    make_product("Acme PowerShot A470 compact camera 7.1 MP silver", sku="CAM1", category=cameras)
    db.session.commit()
    # The camera comes before every lens for cameras (a title as long as its own).
    for q in ("camera", "cameras"):
        found = ranked_skus(q, 9)
        assert found.index("CAM1") < min(found.index(f"LENS{i}") for i in range(4)), found
    # The accessory's own kind, asked for, comes first.
    assert set(ranked_skus("camera bag", 4)) == {"BAG0", "BAG1", "BAG2", "BAG3"}


def test_two_words_the_catalog_writes_as_one_do_not_match_them_apart(db):
    for i in range(30):
        make_product(f"Acme P{i} mousepad black", sku=f"PAD{i}")
    make_product("Acme wireless mouse with charging pad", sku="APART")
    db.session.commit()
    found = ranked_skus("mouse pad", 40)
    assert len(found) == 30 and "APART" not in found
    # With too few products having the joined word, the words are matched apart.
    assert "APART" in ranked_skus("mouse charging", 24)


def _titled(db, **titles: str) -> None:
    """One product per SKU (the keyword) with the given title, committed."""
    for sku, title in titles.items():
        make_product(title, sku=sku)
    db.session.commit()


def test_a_word_typed_as_one_that_the_catalog_writes_apart_matches_its_words(db):
    _titled(
        db,
        WATCH="Acme Trek 5 GPS running watch black",
        CARD="Acme SD memory card 32 GB",
        FAN="Acme box fan 40 x 40 cm",
        XBOX="Acme Xbox controller",
        PS4="Acme Playstation 4 console",
        PLAY="Acme charging station to play on",
        CD="Acme portable CD player",
        DVD="Acme DVD player",
    )
    # Hyphenated or joined, the words are matched apart when too few products have the
    # phrase or the joined word, as if the shopper had typed them apart.
    for q in ("gps-watch", "gpswatch", "GPS watch"):
        assert ranked_skus(q) == ["WATCH"], q
    for q in ("sd-card", "SDcard", "sd card"):
        assert ranked_skus(q) == ["CARD"], q
    # Two words typed as one are not a misspelling of a third word two edits away
    # ("player": PostgreSQL's similar words would offer it): the CD player comes first,
    # then what the words typed apart find when relaxed (a player, the kind asked for).
    assert ranked_skus("cdplayer") == ranked_skus("cd player") == ["CD", "DVD"]
    assert search(SearchParams(q="cdplayer")).did_you_mean is None
    # A name glued to its number is matched as titles write it, apart.
    for q in ("playstation4", "Playstation 4"):
        assert ranked_skus(q) == ["PS4"], q
    # A piece of one letter is no word ("x" is in every size), and a word the catalog
    # knows is not taken apart.
    assert ranked_skus("x-box") == ["XBOX"]
    assert ranked_skus("playstation") == ["PS4"]


def test_a_hyphenated_word_with_a_one_letter_piece_is_taken_apart_only_when_unknown_joined(db):
    _titled(
        db,
        D1="Acme Alkaline D battery",
        D2="Acme Plus battery size D",
        AA="Acme AA battery",
        XBOX="Acme Xbox controller",
        BOX="Acme storage box",
        TONER="Acme toner T black",
    )
    # "d-battery": no product has "dbattery", one has the phrase; typed apart, both
    # D batteries have the words, and come first.
    found = ranked_skus("d-battery")
    assert found == ranked_skus("d battery") and sorted(found[:2]) == ["D1", "D2"]
    # "x-box" is the catalog's "xbox": not x and box apart.
    assert ranked_skus("x-box") == ["XBOX"]
    # No product has "shirt": "t-shirt" apart would be the letter t alone.
    assert ranked_skus("t-shirt") == []


def test_a_hyphenated_word_ending_in_letters_is_taken_apart_one_ending_in_digits_is_not(db):
    _titled(
        db,
        PRO="Acme PS4 console, Pro edition",
        SLIM="Acme PS4 Slim console",
        TONER="Acme TN-2110 toner",
        OTHER="Acme TN toner 2110 pages",
    )
    # Few products have "ps4 pro" as a phrase or "ps4pro": each word is matched apart.
    assert ranked_skus("ps4-pro") == ranked_skus("ps4 pro") == ["PRO"]
    # A model number stays whole.
    assert ranked_skus("tn-2110") == ["TONER"]


def test_a_word_typed_as_one_is_read_as_the_words_it_joins(db):
    """An unknown word that the catalog writes as two ("laptopcase") is read as those two
    words by the rankers too (:attr:`shop.search.query.QueryPlan.reading`): the kind it
    asks for and the field-wise ranker's words are the ones typed apart would give, so is
    the order; a word the catalog knows keeps its reading."""
    cases = make_category("Bags & cases")
    laptops = make_category("Laptops")
    make_product("Acme Swift 14 laptop, carry case included", sku="LAPTOP", category=laptops)
    make_product("Acme Aspire 15 laptop with case and mouse", sku="BUNDLE", category=laptops)
    make_product("Zeta Urban laptop case 15.6 inch", sku="CASE", category=cases)
    make_product("Zeta Slim notebook case laptop sleeve", sku="SLEEVE", category=cases)
    make_product("Acme notebook 13", sku="NOTEBOOK", category=laptops)
    db.session.commit()
    backend = get_backend(db.session)
    joined = analyze("laptopcase", backend)
    assert joined.reading == "laptop case" and query_words(joined) == ["laptop", "case"]
    assert joined.relaxed().reading == "laptop case"
    assert analyze("notebook", backend).reading == "notebook"
    apart = ranked_skus("laptop case")
    assert apart[0] == "CASE" and len(apart) == 4
    assert ranked_skus("laptopcase") == apart


def test_a_known_word_the_catalog_mostly_writes_apart_is_read_apart(db):
    """A word some titles write as one ("mousepad") and more write as two ("mouse pad")
    is read as the two words, like an unknown one; a word the catalog writes as one
    ("playstation") stays one."""
    _titled(
        db,
        ONE="Acme Mousepad Black",
        GEL="Acme gel mouse pad",
        BLUE="Zeta mouse pad blue",
        MOUSE="Zeta wireless mouse",
        PS4="Acme Playstation 4 console",
        PLAY="Acme charging station to play on",
    )
    backend = get_backend(db.session)
    (group,) = analyze("mousepad", backend).groups
    assert [p.text for p in group.parts] == ["mouse", "pad"]
    assert analyze("mousepad", backend).reading == "mouse pad"
    assert set(ranked_skus("mousepad")) == {"ONE", "GEL", "BLUE"}
    (group,) = analyze("playstation", backend).groups
    assert group.parts == [] and analyze("playstation", backend).reading == "playstation"


def test_a_word_mixing_letters_and_digits_is_also_read_where_they_meet(db):
    _titled(
        db,
        PS4="Acme Playstation 4 console",
        TONER="Acme TN2110 toner",
        PRO="Acme PS4 Pro console",
        CABLE="Acme USB3 cable",
        HUB="Acme 4 port USB 3.0 hub",
    )
    backend = get_backend(db.session)

    def analysed(q):
        (group,) = analyze(q, backend).groups
        return [a.tokens for a in group.alternatives], [p.text for p in group.parts]

    assert analysed("playstation4")[1] == ["playstation", "4"]
    # Cut where the second word starts, not inside the model number "ps4".
    alternatives, parts = analysed("ps4pro")
    assert ("ps4", "pro") in alternatives and ("ps", "4pro") not in alternatives
    assert parts == ["ps4", "pro"]
    # A word the index knows is also searched as the phrase, never taken apart: "usb3"
    # finds "USB 3.0"; a one-letter piece is no word; a number glued to its unit matches
    # it apart, and is never split into two searches.
    alternatives, parts = analysed("usb3")
    assert ("usb", "3") in alternatives and parts == []
    assert analysed("tn2110")[1] == []
    assert ranked_skus("usb3 hub") == ["HUB"]
    assert analysed("tn2110x")[1] == []
    assert analysed("64gb") == ([("64gb",), ("64", "gb")], [])


def test_pack_sizes_are_not_words_a_query_meets(db):
    make_product("Crayola Twistables crayons 24 pc(s)", sku="CRAY")
    make_product("Ravensburger puzzle 1000 pcs", sku="PUZZ")
    make_product("Acme Tower desktop PC 8 GB", sku="PC1")
    db.session.commit()
    assert ranked_skus("pc") == ["PC1"]
    assert ranked_skus("crayons") == ["CRAY"]


def test_sizes_and_measures_match_as_titles_write_them(db):
    _titled(
        db,
        TV32='Acme LC-32 TV 81.3 cm (32") Black',
        FRAME="Acme Frame 32 inch TV",
        TV40='Acme LC-40 TV 101.6 cm (40") Black',
        MEM="Acme 32 GB memory card",
        NB15='Acme Book 15 Notebook 39.6 cm (15.6") 8 GB',
        USB64="Acme Store USB flash drive 64 GB",
        READER="Acme 7 in 1 card reader",
    )
    # However the shopper writes a size in inches, the products of that size match it,
    # also as titles give it, 'cm (32")'; the other TVs follow (too few match in full),
    # and 32 of anything else does not match.
    for q in ("32 inch tv", '32" tv', "32in tv", "32-inch tv", "32 inches tv"):
        result = search(SearchParams(q=q))
        assert result.full_matches == 2 and result.required_words == ["tv"], q
        assert sorted(p.sku for p in result.products[:2]) == ["FRAME", "TV32"], q
        assert "MEM" not in {p.sku for p in result.products}, q
        # The results mark the size, not the "cm" and "in" of the forms it matches.
        assert result.plan.tokens == ["32", "inch", "inches", "tv"], q
    assert ranked_skus('15.6" notebook')[0] == "NB15"
    # A number glued to its unit matches it written apart.
    assert ranked_skus("64gb usb")[0] == "USB64"
    # "in" apart is a word ("7 in 1"), not an inch.
    assert ranked_skus("7 in 1 card reader")[0] == "READER"


def test_a_size_in_terabytes_matches_titles_that_give_it_in_gigabytes(db):
    _titled(
        db,
        HDD='Acme internal hard drive 3.5" 1000 GB Serial ATA',
        NAS="Acme Cloud 1TB NAS",
        GLUED="Acme Portable 1000GB USB drive",
        SMALL='Acme internal hard drive 3.5" 500 GB Serial ATA',
        BIG='Acme internal hard drive 3.5" 2000 GB Serial ATA',
    )
    # Icecat writes a terabyte as "1000 GB" as often as "1 TB" (SI prefixes).
    assert sorted(ranked_skus("1tb")) == ["GLUED", "HDD", "NAS"]
    assert ranked_skus("2tb") == ["BIG"]


def test_short_titles_of_parts_for_a_kind_do_not_climb_above_it(db):
    for i in range(3):
        make_product(f"Acme 01{i}B002 printer roller", sku=f"ROLL{i}")
    for i in range(3):
        make_product(
            f"Acme PIXMA iX40{i}0 inkjet printer Colour 4800 x 1200 DPI A4 USB 2.0 Wi-Fi duplex "
            "photo tray 20 ppm black and white 15 ppm colour",
            sku=f"PRN{i}",
        )
    db.session.commit()
    # Both rankers fused put the printers first, although the rollers' short titles have
    # "printer" in a quarter of their words.
    assert sorted(ranked_skus("acme printer")[:3]) == ["PRN0", "PRN1", "PRN2"]


def test_a_corrected_word_ranks_as_the_word_typed_right(db):
    make_product("Acme battery charger usb", sku="APART")
    make_product("Acme mini usb battery charger black", sku="PHRASE")
    db.session.commit()
    # The query as a phrase is looked for with the correction, not the typo.
    assert ranked_skus("usb battery") == ["PHRASE", "APART"]
    assert ranked_skus("usb batery") == ["PHRASE", "APART"]


def test_one_pass_over_the_titles_caches_the_vocabulary_and_the_kind_words(db, monkeypatch):
    from shop.search import kinds

    laptops = make_category("Laptops")
    for i in range(3):
        make_product(f"Acme X{i} Notebook 35.6 cm", sku=f"NB{i}", category=laptops)
    db.session.commit()
    passes = []
    learn = kinds.learn_catalog
    monkeypatch.setattr(kinds, "learn_catalog", lambda: passes.append(1) or learn())
    vocabulary = kinds.kind_vocabulary()
    words = kinds.kind_words()
    assert passes == [1]
    assert "kinds" not in vocabulary and vocabulary["aliases"]["laptop"] == ["notebook"]
    assert {"laptop", "notebook"} <= words
