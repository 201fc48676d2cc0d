"""The search index stays in sync with products through every write path, on both databases."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import insert, text, update

from shop.catalog import editing
from shop.catalog.models import Product
from shop.catalog.stock import allocate
from shop.search import index
from shop.search.backends import get_backend
from shop.search.facets import tally_statement as select_tally
from shop.search.query import analyze
from shop.search.services import SearchParams, search
from tests.factories import make_category, make_product
from tests.statements import QueryCounter


def found(q: str, **filters) -> list[str]:
    """SKUs the search service returns for ``q`` (first page of 100)."""
    return [p.sku for p in search(SearchParams(q=q, per_page=100, **filters), with_facets=False).products]


def indexed_count(db) -> int:
    """Rows in the dialect's index table."""
    table = "search_documents" if db.engine.dialect.name == "postgresql" else "search_fts"
    return db.session.scalar(text(f"SELECT count(*) FROM {table}"))


def test_edit_is_found_at_once_and_archive_removes(db):
    cat = make_category("Audio")
    p = make_product("Philips studio headphones", brand="Philips", category=cat, sku="HP1")
    db.session.commit()
    assert found("headphones") == ["HP1"]

    editing.update_product(p.id, {"name": "Philips zanzibar monitor speaker"}, actor_id=None)
    # Same transaction, before commit: the index already has the new name.
    assert found("zanzibar") == ["HP1"]
    assert found("headphones") == []
    db.session.commit()
    assert found("zanzibar") == ["HP1"]

    editing.archive_product(p.id)
    db.session.commit()
    assert found("zanzibar") == []
    assert db.session.get(Product, p.id).status == "archived"
    assert indexed_count(db) == 0


def test_rolled_back_edit_leaves_the_index_as_it_was(db):
    p = make_product("Garmin forerunner watch", brand="Garmin", sku="G1")
    db.session.commit()
    editing.update_product(p.id, {"name": "Garmin quokka watch"}, actor_id=None)
    assert found("quokka") == ["G1"]
    db.session.rollback()
    assert found("quokka") == [] and found("forerunner") == ["G1"]


def test_core_bulk_insert_update_and_delete_are_indexed(db):
    db.session.execute(
        insert(Product),
        [
            {
                "sku": "B1",
                "slug": "b1",
                "name": "Verbatim AA batteries",
                "price_cents": 500,
                "stock": 1,
                "status": "active",
                "brand": "Verbatim",
                "model": "49501",
            },
            {
                "sku": "B2",
                "slug": "b2",
                "name": "Duracell AA batteries",
                "price_cents": 600,
                "stock": 1,
                "status": "draft",
                "brand": "Duracell",
                "model": "",
            },
        ],
    )
    assert sorted(found("batteries")) == ["B1"]  # drafts are never found
    db.session.execute(update(Product).where(Product.sku == "B2").values(status="active"))
    assert sorted(found("batteries")) == ["B1", "B2"]
    db.session.execute(update(Product).where(Product.sku == "B1").values(name="Verbatim lantern"))
    assert found("batteries") == ["B2"] and found("lantern") == ["B1"]
    db.session.execute(Product.__table__.delete().where(Product.sku == "B2"))
    assert found("batteries") == [] and indexed_count(db) == 1
    db.session.commit()


def test_stock_changes_keep_the_product_findable_and_filterable(db):
    p = make_product("Logitech wireless mouse", brand="Logitech", stock=1, sku="M1")
    db.session.commit()
    allocate(p.id, 1, order_id=None)
    db.session.commit()
    assert found("mouse") == ["M1"]
    assert found("mouse", in_stock=True) == []


def _facets(q: str) -> dict:
    """Facet counts of ``q`` as ``{category slugs, brands, price bands, in stock}`` dicts."""
    facets = search(SearchParams(q=q)).facets
    return {
        "category": {f["slug"]: f["count"] for f in facets["category"]},
        "brand": {f["value"]: f["count"] for f in facets["brand"]},
        "price": {f["key"]: f["count"] for f in facets["price"] if f["count"]},
        "in_stock": facets["in_stock"]["count"],
    }


def test_facet_counts_follow_price_stock_brand_and_category_changes_at_once(db):
    audio, video = make_category("Audio"), make_category("Video")
    a = make_product("Sony radio alpha", brand="Sony", category=audio, price_cents=1000, stock=2, sku="R1")
    make_product("Sony radio beta", brand="Sony", category=audio, price_cents=5000, stock=0, sku="R2")
    db.session.commit()
    assert _facets("radio") == {
        "category": {audio.slug: 2},
        "brand": {"Sony": 2},
        "price": {"0-25": 1, "25-100": 1},
        "in_stock": 1,
    }
    # An order takes the last units; the price changes through a Core statement.
    allocate(a.id, 2, order_id=None)
    db.session.execute(update(Product).where(Product.sku == "R2").values(price_cents=20000))
    assert _facets("radio")["in_stock"] == 0
    assert _facets("radio")["price"] == {"0-25": 1, "100-250": 1}
    db.session.commit()
    editing.update_product(a.id, {"brand": "Philips", "category_id": video.id}, actor_id=None)
    db.session.commit()
    facets = _facets("radio")
    assert facets["brand"] == {"Sony": 1, "Philips": 1}
    assert facets["category"] == {audio.slug: 1, video.slug: 1}


def test_the_facet_tally_reads_no_product_rows(db):
    """The tally counts every match by category, brand, price and stock: on PostgreSQL
    from the search index's own columns, on SQLite from the covering index beside the id
    (``shop.catalog.counts.SQLITE_FACTS_INDEX``), never from the wide product rows."""
    make_product("Epson flatbed scanner", brand="Epson", price_cents=9_900, stock=3)
    for n in range(40):
        make_product(f"Cable {n}", sku=f"C{n}")
    db.session.commit()
    index.analyze(db.session.connection())  # the planner's statistics, as after an import
    backend = get_backend(db.session)
    stmt = select_tally(backend.match(analyze("scanner", backend), scored=False))
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    if db.engine.dialect.name == "postgresql":
        assert " products" not in sql.replace("search_documents", ""), sql
    else:
        plan = " | ".join(r[3] for r in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)))
        assert "COVERING INDEX ix_products_search_facts" in plan, plan
    assert [r[-1] for r in db.session.execute(stmt)] == [1]


def test_category_rename_reaches_the_index(db):
    top = make_category("Computers")
    leaf = make_category("Notebooks", parent=top)
    make_product("HP EliteBook 840", brand="HP", category=leaf, sku="E1")
    db.session.commit()
    assert found("notebooks") == ["E1"]
    leaf.name = "Ultrabooks"
    db.session.commit()
    assert found("ultrabooks") == ["E1"] and found("notebooks") == []
    top.name = "Portables"
    db.session.commit()
    assert found("portables") == ["E1"]


def test_install_is_idempotent_and_reindex_rebuilds(app, db):
    make_product("Brother TN-2110 toner", brand="Brother", model="TN-2110", sku="T1")
    make_product("Old toner", status="archived", sku="T2")
    db.session.commit()
    conn = db.session.connection()
    index.install(conn)
    index.install(conn)
    index.clear(conn)
    assert found("toner") == []
    db.session.commit()
    db.session.close()  # the command uses its own connection
    result = CliRunner().invoke(app.cli, ["shop", "reindex"], catch_exceptions=False)
    assert result.exit_code == 0 and "Indexed 1 active products" in result.output
    assert found("toner") == ["T1"] and found("tn2110") == ["T1"] and found("tn-2110") == ["T1"]


def test_model_numbers_typos_and_compounds(db):
    make_product("HP Pavilion dv7-1211ea Notebook", brand="HP", model="dv7-1211ea", sku="N1")
    make_product("Sony wireless headset", brand="Sony", sku="H1")
    make_product("Samsung Galaxy smartwatch", brand="Samsung", sku="W1")
    make_product("Sennheiser studio headphones", brand="Sennheiser", sku="H2")
    db.session.commit()
    for q in ("dv7-1211ea", "dv7-1211", "dv71211ea", "DV7 1211EA", "1211ea"):
        assert found(q) == ["N1"], q
    assert found("head set") == ["H1"]
    assert found("smart watch") == ["W1"]
    assert found("hedphones") == ["H2"]
    # Two letters swapped are one edit (Damerau), as one letter missing is.
    assert found("hedaset") == ["H1"] and found("snoy headset") == ["H1"]
    # A misspelt plural of a word the titles write in the singular.
    assert found("smartwacthes") == ["W1"] and found("studoi") == ["H2"]
    plan = analyze("hedphones", get_backend(db.session))
    assert plan.did_you_mean == "headphones"


def test_a_first_letter_typed_in_excess_or_swapped_is_corrected(db):
    for i in range(3):
        make_product(f"Canon EOS {i}00D SLR Camera Kit", brand="Canon", sku=f"S{i}")
    make_product("D-Link DSL-2740B router", brand="D-Link", sku="R1")
    db.session.commit()
    backend = get_backend(db.session)
    # "dsl" and "slr" are both one edit from "dslr"; the titles write "SLR" more often.
    assert analyze("dslr", backend).did_you_mean == "slr"
    assert sorted(found("dslr camera")) == ["S0", "S1", "S2"]
    assert analyze("acmera kit", backend).did_you_mean == "camera kit"


def test_a_word_counted_before_its_product_existed_is_known_at_once(db):
    """Query analysis keeps the vocabulary's word counts as statistics
    (:class:`shop.search.stats.CachedVocabulary`): a query of words met before reads no
    vocabulary, and a word counted 0 a moment ago is still searched as typed, not
    corrected, once a product has it."""
    make_product("Zanzibat desk lamp", sku="L1")
    db.session.commit()
    first = search(SearchParams(q="zanzibar lamp"), with_facets=False)
    assert first.did_you_mean == "zanzibat lamp"  # no product has the word yet
    make_product("Zanzibar bluetooth speaker", sku="S1")
    db.session.commit()
    with QueryCounter(db.engine) as counter:
        result = search(SearchParams(q="zanzibar"), with_facets=False)
    assert [p.sku for p in result.products] == ["S1"] and result.did_you_mean is None
    # The count of "zanzibar" was kept (0); only the stemmed index was asked.
    read = counter.statements
    assert not [s for s in read if "search_words" in s and "ndoc" in s or "search_words_vocab" in s], read
