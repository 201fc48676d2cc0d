"""One text ranking for every backend: BM25 computed as SQLite FTS5 computes it, from the
backend's own corpus statistics, and an index that splits words where queries do."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from shop.catalog.stock import allocate
from shop.search import fieldwise, ranking, relax, stats
from shop.search.backends import get_backend
from shop.search.fieldwise import dismax, fuse, plural_stem
from shop.search.query import Alternative, Group, QueryPlan, analyze
from shop.search.ranking import load_docs
from shop.search.scoring import Doc, bm25, doc_length
from shop.search.services import SearchParams, search
from shop.search.tokens import tokenize
from tests.factories import make_category, make_product
from tests.statements import QueryCounter


def _catalog():
    cat = make_category("Audio")
    names = [
        ("H1", "Sony wireless headphones", "Closed headphones with a long cable"),
        ("H2", "Philips headphones", "Light on-ear headphones"),
        (
            "H3",
            "Philips speaker",
            "A speaker for headphones fans and everyone who likes a very long "
            "description with many words that dilute the one match it has",
        ),
        ("H4", "Sony wireless speaker", "Bluetooth speaker"),
        ("H5", "Logitech mouse", "Wireless mouse"),
    ]
    for sku, name, desc in names:
        make_product(name, brand=name.split()[0], category=cat, sku=sku, description=desc)


def test_bm25_orders_as_fts5_does(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("compares with SQLite FTS5's own bm25()")
    _catalog()
    db.session.commit()
    backend = get_backend(db.session)
    for q in ("headphones", "wireless", "sony wireless", "philips headphones"):
        plan = analyze(q, backend)
        rows = db.session.execute(
            text("SELECT rowid, -bm25(search_fts) FROM search_fts WHERE search_fts MATCH :q"),
            {"q": " OR ".join('"' + " ".join(a.tokens) + '"' for g in plan.groups for a in g.alternatives)},
        ).all()
        fts = {pid: score for pid, score in rows}
        docs = load_docs(sorted(fts))
        freq = stats.phrase_doc_freq(backend, [a for g in plan.groups for a in g.alternatives])
        n_docs = stats.active_count()
        mean = sum(doc_length(d) for d in docs_all(db)) / n_docs
        ours = bm25(plan, docs, freq, n_docs, mean)
        coverage = {pid: s // 1000 for pid, s in ours.items()}
        for pid, score in fts.items():
            # FTS5 scores the OR of all phrases; ours adds 1000 per matched group.
            assert ours[pid] - 1000 * coverage[pid] == pytest.approx(score, rel=1e-6), q


def docs_all(db) -> list[Doc]:
    """Every active product as a Doc."""
    ids = [r[0] for r in db.session.execute(text("SELECT id FROM products WHERE status = 'active'"))]
    return load_docs(ids)


def test_rarer_word_and_shorter_text_rank_higher():
    plan = QueryPlan(
        "sony speaker",
        [Group("sony", [Alternative(("sony",))]), Group("speaker", [Alternative(("speaker",))])],
    )
    docs = [
        Doc(1, "Sony speaker", "", "Sony", "", ""),
        Doc(2, "Sony speaker", "", "Sony", "", "", body="a long text " * 20),
        Doc(3, "Sony radio", "", "Sony", "", ""),
        Doc(4, "Acme speaker", "", "Acme", "", ""),
    ]
    freq = {plan.groups[0].alternatives[0]: 50, plan.groups[1].alternatives[0]: 5}
    scores = bm25(plan, docs, freq, 1000, 10.0)
    assert scores[1] > scores[2]  # same words, shorter product
    assert scores[2] > scores[4] > scores[3]  # both words first; then the rarer word wins
    assert scores[3] > 0


def test_words_split_by_punctuation_are_found_on_every_backend(db):
    make_product("Acme PRS-3 screen protector Mobile phone/Smartphone", brand="Acme", sku="S1")
    make_product('Acme Edge smartphone 6.7" 128 GB', brand="Acme", sku="S2")
    make_product("Acme charger", brand="Acme", sku="S3", description="For tablets/smartphones.")
    db.session.commit()
    found = [p.sku for p in search(SearchParams(q="smartphone"), with_facets=False).products]
    assert sorted(found) == ["S1", "S2", "S3"]


def test_statistics_come_from_the_index_and_are_cached(db):
    _catalog()
    db.session.commit()
    backend = get_backend(db.session)
    alt = Alternative(("headphones",))
    assert stats.active_count() == 5
    assert stats.phrase_doc_freq(backend, [alt]) == {alt: 3}
    assert stats.mean_length() == pytest.approx(sum(doc_length(d) for d in docs_all(db)) / 5)
    make_product("Koss headphones", brand="Koss", sku="H6")
    db.session.commit()
    # Cached for a while: a statistic may be a few minutes stale.
    assert stats.active_count() == 5 and stats.phrase_doc_freq(backend, [alt]) == {alt: 3}


def test_pages_past_the_rerank_window_list_every_match_once(db, monkeypatch):
    monkeypatch.setattr(ranking, "RERANK_WINDOW", 7)
    cat = make_category("Cables")
    for i in range(23):
        make_product(
            f"Acme cable {i} {'usb' if i % 2 else 'hdmi'}",
            sku=f"C{i:02d}",
            category=cat,
            price_cents=1000 + i,
            stock=0 if i % 3 == 0 else 5,
        )
    make_product("Acme mouse", sku="M1", category=make_category("Mice"))
    db.session.commit()

    def pages(**kw):
        out, page = [], 1
        while True:
            result = search(SearchParams(q="cable", per_page=5, page=page, **kw), with_facets=False)
            out += [p.sku for p in result.products]
            if page >= result.pages:
                return out, result.total
            page += 1

    every, total = pages()
    assert total == 23 and sorted(every) == [f"C{i:02d}" for i in range(23)]
    stocked, total = pages(in_stock=True)
    assert total == 15 and sorted(stocked) == [f"C{i:02d}" for i in range(23) if i % 3]
    by_price, _ = pages(sort="price_desc")
    assert by_price == [f"C{i:02d}" for i in reversed(range(23))]


def test_products_of_the_category_the_query_names_rank_first(db):
    computers = make_category("Computers", slug="computers")
    laptops = make_category("Laptops", parent=computers, slug="laptops")
    bags = make_category(
        "Bags & cases", parent=make_category("Accessories", slug="accessories"), slug="bags-cases"
    )
    make_product("Acme Notebook Sleeve notebook case", category=bags, sku="BAG")
    make_product("Acme X200 Notebook PC with a long name", category=laptops, sku="PC")
    db.session.commit()
    # By text alone the sleeve wins ("notebook" twice in a short title).
    skus = [p.sku for p in search(SearchParams(q="notebook")).products]
    assert skus == ["PC", "BAG"]
    skus = [p.sku for p in search(SearchParams(q="notebook case")).products]
    assert skus[0] == "BAG"


def test_too_few_full_matches_let_go_of_the_commonest_word_first(db, monkeypatch):
    cat = make_category("Misc")
    for i in range(5):
        make_product(f"Acme usb cable {i}", category=cat, sku=f"CABLE{i}")
    make_product("Acme gadget bag", category=cat, sku="BAG")
    make_product("Acme usb gadget hub", category=cat, sku="HUB")
    db.session.commit()
    result = search(SearchParams(q="usb gadget"))
    # One product has both words; "usb" (6 products) narrows less than "gadget" (2), so
    # it is the one let go: gadgets without "usb" follow, usb cables do not.
    assert result.relaxed
    assert [p.sku for p in result.products] == ["HUB", "BAG"] and result.total == 2
    assert result.required_words == ["gadget"]
    # A word no product has is let go before any other.
    result = search(SearchParams(q="gadget zzzzzzzzzz"))
    assert {p.sku for p in result.products} == {"HUB", "BAG"}
    # Enough full matches: nothing is let go.
    monkeypatch.setattr(relax, "RELAX_BELOW", 5)
    result = search(SearchParams(q="usb cable"))
    assert not result.relaxed and result.total == 5


def test_plural_stem_reduces_plurals_only():
    assert [plural_stem(w) for w in ("batteries", "cables", "headphones", "keys", "boxes")] == [
        "battery",
        "cable",
        "headphone",
        "key",
        "box",
    ]
    # A sibilant's plural loses its "es", as the singular in a title has none.
    assert [plural_stem(w) for w in ("watches", "brushes", "glasses", "boxes")] == [
        "watch",
        "brush",
        "glass",
        "box",
    ]
    # Not plurals, or not reduced by the minimal rules: unchanged.
    assert [plural_stem(w) for w in ("status", "class", "shoes", "aa", "ps", "mouse")] == [
        "status",
        "class",
        "shoes",
        "aa",
        "ps",
        "mouse",
    ]


def test_dismax_scores_a_words_best_field_and_requires_every_word():
    docs = [
        Doc(1, "Acme speaker", "", "Acme", "", ""),
        Doc(
            2,
            "Acme X1 portable music system",
            "",
            "Acme",
            "",
            "",
            body="A speaker for the garden, the kitchen and the living room.",
        ),
        Doc(3, "Acme radio", "", "Acme", "", "", attributes="Speakers included Yes"),
        Doc(4, "Acme speaker", "", "Acme", "", "", body="speaker" + " and more" * 10),
    ]
    means = {"title": 4.0, "model": 1.0, "kind": 1.0, "body": 10.0, "attributes": 5.0}
    scores = dismax(["speakers"], docs, {"speakers": 3}, 100, means)
    # The word in a short title beats the word once in a longer description; an attribute
    # value counts like any field ("speakers" and "speaker" are the same singular).
    assert scores[1] > scores[2] > 0 and scores[3] > 0
    # Only the best field counts: the description adds nothing to the same title.
    assert scores[4] == pytest.approx(scores[1])
    both = dismax(["acme", "speakers"], docs, {"acme": 4, "speakers": 3}, 100, means)
    assert set(both) == {1, 2, 3, 4}
    assert dismax(["acme", "radio"], docs, {"acme": 4, "radio": 1}, 100, means).keys() == {3}
    assert dismax([], docs, {}, 100, means) == {}


def test_dismax_counts_only_the_fields_a_word_may_be_in():
    """A field not yet counted is counted only when its text holds the word's singular
    without its last letter, which every token reducing to that singular holds; the
    scores are those of counting every field."""
    tokens = (
        "batteries",
        "boxes",
        "watches",
        "cables",
        "series",
        "keys",
        "toys",
        "glasses",
        "status",
        "ies",
        "s",
    )
    assert all(plural_stem(t)[:-1] in t for t in tokens)
    docs = [
        Doc(1, "Acme battery charger", "", "Acme", "", "", attributes="Colour Black Weight 120 g"),
        Doc(2, "Acme charger", "", "Acme", "", "", attributes="Batteries included Yes"),
        Doc(3, "Acme lamp", "", "Acme", "", "", body="Runs on two AA batteries", attributes="Red"),
    ]
    means = {"title": 3.0, "model": 1.0, "kind": 1.0, "body": 5.0, "attributes": 5.0}
    freq = {"batteries": 30, "charger": 20}
    fieldwise.forget_terms()
    lazily = dismax(["batteries", "charger"], docs, freq, 100, means)
    assert "Colour Black Weight 120 g" not in fieldwise._TERMS  # no word of the query in it
    assert "Batteries included Yes" in fieldwise._TERMS
    for d in docs:  # every field counted beforehand
        for field_text in fieldwise.dismax_texts(d).values():
            fieldwise._terms(field_text)
    assert dismax(["batteries", "charger"], docs, freq, 100, means) == lazily
    assert set(lazily) == {1, 2}


def test_dismax_takes_a_word_standing_for_a_query_word_at_its_weight():
    docs = [
        Doc(1, "Acme notebook", "", "Acme", "", ""),
        Doc(2, "Acme laptop", "", "Acme", "", ""),
        Doc(3, "Acme radio", "", "Acme", "", ""),
    ]
    means = {"title": 2.0, "model": 1.0, "kind": 1.0, "body": 1.0, "attributes": 1.0}
    freq = {"laptop": 5, "notebook": 5}
    assert dismax(["laptop"], docs, freq, 100, means).keys() == {2}
    scores = dismax(["laptop"], docs, freq, 100, means, {"laptop": {"notebook": 0.5}})
    assert scores.keys() == {1, 2}
    # As common and in a title as long, the word standing for it counts at its weight.
    assert scores[1] == pytest.approx(0.5 * scores[2])


def test_fuse_adds_reciprocal_ranks():
    first, second = [1, 2, 3, 4], [4, 3, 9]
    # 1: 1/60; 2: 1/61; 3: 1/62 + 1/61; 4: 1/63 + 1/60. Ids only in the second are left out.
    assert fuse([first, second]) == [4, 3, 1, 2]
    assert fuse([first]) == first
    # Ties keep the first ranking's order.
    assert fuse([[5, 6], [6, 5]]) == [5, 6]


def test_field_means_come_from_the_products_having_the_field(db):
    _catalog()
    db.session.commit()
    means = stats.field_means()
    docs = docs_all(db)
    assert means["title"] == pytest.approx(sum(len(tokenize(d.title)) for d in docs) / len(docs))
    assert means["body"] == pytest.approx(sum(len(tokenize(d.body)) for d in docs) / len(docs))
    assert means["kind"] == 1.0  # no product has a product type


def test_relaxing_lets_go_of_the_word_naming_the_kind_last(db):
    cat = make_category("Keyboards & mice")
    for i in range(6):
        make_product(f"Acme K{i} keyboard USB", category=cat, sku=f"KEY{i}")
    make_product("Acme mechanical monitor arm", sku="ARM")
    make_product("Acme M1 mechanical keyboard", category=cat, sku="MECH")
    for i in range(3):
        make_product(f"Acme Slate {i} Pro tablet", sku=f"PRO{i}")
    make_product("Acme Surface dock", sku="DOCK")
    db.session.commit()
    # "keyboard" (7 products) narrows less than "mechanical" (2), yet it says what is
    # asked for: it is kept, and the keyboards follow the mechanical one.
    result = search(SearchParams(q="mechanical keyboard"))
    assert result.relaxed and result.required_words == ["keyboard"]
    skus = [p.sku for p in result.products]
    assert skus[0] == "MECH" and "ARM" not in skus and len(skus) == 7
    # Before "for", the query names its kind: "keyboard" is kept, not "tablet".
    result = search(SearchParams(q="mechanical keyboard for tablet"))
    assert result.required_words == ["keyboard"] and result.products[0].sku == "MECH"
    # "pro" ends model names more often than it names a kind: the commonest word goes.
    result = search(SearchParams(q="surface pro"))
    assert result.required_words == ["surface"] and [p.sku for p in result.products] == ["DOCK"]


def test_relaxing_lets_go_of_function_words_first(db):
    cables = make_category("Data cables")
    for i in range(24):
        make_product(f"Acme parallel printer cable {i} m", category=cables, sku=f"PRINTER{i}")
    for i in range(25):
        make_product(f"Acme power cable for server rack {i}", category=cables, sku=f"RACK{i}")
    for i in range(10):
        make_product(f"Acme P{i} laser printer A4", sku=f"LASER{i}")
    db.session.commit()
    # No product has all three words. "printer" (34 products) narrows less than "for"
    # (25), yet "for" only joins the words asked for: it goes first, and a page of
    # printer cables is found. (PostgreSQL's English text search ignores "for", a stop
    # word, from the start: the same page, unrelaxed.)
    result = search(SearchParams(q="cable for printer"))
    assert "for" not in result.required_words
    assert {p.sku[:7] for p in result.products} == {"PRINTER"}


def test_the_window_keeps_products_read_under_the_same_index_state(db):
    cat = make_category("Keyboards", parent=make_category("Input"))
    product = make_product("Acme K1 keyboard", category=cat, sku="K1", attributes={"Colour": "Black"})
    db.session.commit()
    backend = get_backend(db.session)
    state = backend.state()
    first = load_docs([product.id], state)[0]
    with QueryCounter(db.engine) as counter:
        again = load_docs([product.id], state)[0]
    assert again is first and not [s for s in counter.statements if "products" in s]
    # Only the attributes change, by raw SQL as any code path may: the state moves and the
    # product is read again under the new one.
    db.session.execute(
        text("UPDATE products SET attributes = :a WHERE id = :i"), {"a": '{"Colour": "Red"}', "i": product.id}
    )
    db.session.commit()
    moved = backend.state()
    assert moved != state
    assert load_docs([product.id], moved)[0].attributes == "Red"
    # Without a state (inside a transaction that wrote) nothing kept is used.
    db.session.execute(
        text("UPDATE products SET attributes = :a WHERE id = :i"),
        {"a": '{"Colour": "Blue"}', "i": product.id},
    )
    assert backend.state() is None
    assert load_docs([product.id], None)[0].attributes == "Blue"
    db.session.rollback()


def test_the_first_page_is_shown_from_the_windows_read(db):
    """The re-rank window reads its products' card columns too: the first page of a query
    needs no statement of its own, and a change of stock (a new index state) is shown at
    once."""
    cat = make_category("Keyboards", parent=make_category("Input"))
    products = [make_product(f"Acme K{n} keyboard", category=cat, sku=f"K{n}", stock=5) for n in range(3)]
    db.session.commit()
    with QueryCounter(db.engine) as counter:
        result = search(SearchParams(q="keyboard"), with_facets=False)
    assert {p.sku for p in result.products} == {"K0", "K1", "K2"}
    assert {p.stock for p in result.products} == {5}
    assert result.products[0].category.full_name == "Input > Keyboards"
    # One statement reads the cards' columns: the window's, with the fields it ranks by.
    cards = [s for s in counter.statements if "products.sku" in s]
    assert len(cards) == 1 and "products.description" in cards[0], cards
    allocate(products[0].id, 2, order_id=None)
    db.session.commit()
    again = search(SearchParams(q="keyboard"), with_facets=False)
    assert {p.sku: p.stock for p in again.products} == {"K0": 3, "K1": 5, "K2": 5}


def test_the_window_reads_each_product_as_it_is_now(db):
    cat = make_category("Keyboards", parent=make_category("Input"))
    product = make_product("Acme K1 keyboard", category=cat, sku="K1", attributes={"Colour": "Black"})
    db.session.commit()
    first = load_docs([product.id])[0]
    assert load_docs([product.id])[0] is first  # built once while nothing changed
    # A new title and attributes, written by raw SQL as any code path may, and a parent
    # category renamed are read at once.
    db.session.execute(
        text("UPDATE products SET name = 'Acme K1 gaming keyboard', attributes = :a WHERE id = :i"),
        {"a": '{"Colour": "Red"}', "i": product.id},
    )
    cat.parent.name = "Peripherals"
    db.session.commit()
    db.session.expire_all()
    ranking_doc = load_docs([product.id])[0]
    assert ranking_doc.title == "Acme K1 gaming keyboard"
    assert ranking_doc.attributes == "Red"
    assert ranking_doc.category == "Keyboards Peripherals"


@pytest.mark.parametrize(
    ("typed", "singular"),
    [("phone cases", "phone case"), ("ipads", "ipad"), ("notebook batteries", "notebook battery")],
)
def test_a_query_names_the_same_category_in_the_plural(typed, singular):
    """The category rules are written for titles, which name a kind in the singular:
    the query's last word is read in the singular first ("phone cases" names cases, not
    phones), and as typed when the singular names none."""

    def leaf(q: str) -> str | None:
        return ranking.query_leaf(QueryPlan(q, [Group(w, [Alternative((w,))]) for w in q.split()]))

    assert leaf(typed) == leaf(singular) is not None
    # A word the rules hold only in the plural is still read.
    assert leaf("headphones") is not None
