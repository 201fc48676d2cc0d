"""PostgreSQL lays the search index's documents out by category after a bulk change
(:func:`shop.search.index.lay_out`), so that a query's matches share pages."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from shop.catalog.stock import allocate
from shop.search import index
from shop.search.services import SearchParams, search
from tests.factories import make_category, make_product
from tests.test_search_index import found


@pytest.fixture
def pg(db):
    """The suite's database, when it is PostgreSQL."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite's full-text index has no table layout to choose")
    return db


def _layout(db) -> list[tuple[int, int]]:
    """(page, category id) of every document, in the table's physical order."""
    rows = db.session.execute(
        text("SELECT (ctid::text::point)[0]::int, category_id FROM search_documents ORDER BY ctid")
    )
    return [tuple(r) for r in rows]


def _interleaved(categories: int = 3, each: int = 60, words: int = 80) -> list:
    """Products of ``categories`` categories, created in turn (one of each, then again),
    with descriptions of ``words`` words (long ones fill several pages)."""
    cats = [make_category(f"Kind {c}") for c in range(categories)]
    products = []
    for n in range(each):
        for c, cat in enumerate(cats):
            products.append(
                make_product(
                    f"Widget {c}-{n}",
                    sku=f"W{c}-{n}",
                    category=cat,
                    stock=5,
                    description=" ".join(f"word{c}x{k}" for k in range(words)),
                )
            )
    return products


def test_documents_are_laid_out_by_category_after_a_bulk_change(pg):
    _interleaved()
    pg.session.commit()
    before = [c for _page, c in _layout(pg)]
    assert before != sorted(before)  # created in turn: the categories alternate
    pages_before = {c: {p for p, cc in _layout(pg) if cc == c} for c in set(before)}

    assert index.lay_out(pg.session.connection()) is True
    pg.session.commit()
    after = _layout(pg)
    assert [c for _page, c in after] == sorted(before)
    pages_after = {c: {p for p, cc in after if cc == c} for c in set(before)}
    for cat in pages_before:  # each category now reads fewer pages than when interleaved
        assert len(pages_after[cat]) < len(pages_before[cat])
    # Nothing was lost, and search finds what it found before.
    assert len(after) == len(before)
    assert search(SearchParams(q="widget"), with_facets=False).total == len(before)


def test_a_change_of_stock_stays_in_its_page(pg):
    products = _interleaved(categories=2, each=100, words=3)
    pg.session.commit()
    index.analyze(pg.session.connection())  # what the import does: lays out, then ANALYZE
    pg.session.commit()
    options = pg.session.scalar(text("SELECT reloptions FROM pg_class WHERE relname = 'search_documents'"))
    assert "fillfactor=90" in options
    where = dict(
        pg.session.execute(text("SELECT product_id, (ctid::text::point)[0]::int FROM search_documents")).all()
    )
    for product in products[::20]:
        allocate(product.id, 1, order_id=None)
    pg.session.commit()
    moved = dict(
        pg.session.execute(text("SELECT product_id, (ctid::text::point)[0]::int FROM search_documents")).all()
    )
    assert all(moved[p.id] == where[p.id] for p in products[::20])
    assert (
        pg.session.scalar(
            text("SELECT stock FROM search_documents WHERE product_id = :id"), {"id": products[0].id}
        )
        == 4
    )


def test_a_busy_table_is_left_as_it_is(pg, monkeypatch, caplog):
    _interleaved(categories=2, each=10)
    pg.session.commit()
    before = _layout(pg)
    pg.session.commit()
    monkeypatch.setattr(index, "LAYOUT_LOCK_TIMEOUT", 0.2)
    with pg.engine.connect() as reader:  # a long transaction reading the index
        reader.execute(text("SELECT count(*) FROM search_documents"))
        conn = pg.session.connection()
        timeouts = conn.execute(
            text("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
        )
        saved = tuple(timeouts.one())
        with caplog.at_level(logging.WARNING, logger="shop.search.index"):
            assert index.lay_out(conn) is False
        assert "busy" in caplog.text
        # The caller's transaction goes on, with its own timeouts.
        again = conn.execute(
            text("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
        )
        assert tuple(again.one()) == saved
        assert len(found("widget")) == 20
        reader.rollback()
    pg.session.commit()
    assert _layout(pg) == before


def test_the_rewrite_is_not_cut_short_by_the_read_deadline(pg, app_factory):
    """A request's connection gives up on a server that does not answer within
    ``DATABASE_READ_TIMEOUT``; the index's rewrite, slow by nature on a large catalog, waits
    as long as it takes (:func:`shop.dbconnect.unbounded`), and the deadline holds again
    after it."""
    from shop.dbconnect import unbounded
    from shop.extensions import db as _db

    app = app_factory(DATABASE_READ_TIMEOUT=0.3, DATABASE_STATEMENT_TIMEOUT=0)
    with app.app_context(), _db.engine.connect() as conn:
        driver = conn.connection.driver_connection
        with unbounded(driver):
            assert conn.execute(text("SELECT pg_sleep(0.6), 1")).one()[1] == 1
        with pytest.raises(OperationalError, match="did not answer"):
            conn.execute(text("SELECT pg_sleep(0.6)"))


def test_searches_wait_for_the_rewrite_and_then_find_everything(pg, app_factory):
    """While the documents are rewritten (the table locked until the rewrite commits), a
    search waits rather than fails, and then finds every product."""
    import threading

    from shop.extensions import db as _db

    _interleaved(categories=2, each=10)
    pg.session.commit()
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 2, "max_overflow": 2})
    found_total: list[int] = []

    def shopper() -> None:
        with app.app_context():
            found_total.append(search(SearchParams(q="widget"), with_facets=False).total)
            _db.session.remove()

    with app.app_context(), _db.engine.connect() as conn:
        rewrite = conn.begin()
        assert index.lay_out(conn) is True  # the table stays locked until the commit
        thread = threading.Thread(target=shopper)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive() and not found_total  # waiting, not failed
        rewrite.commit()
    thread.join(10)
    assert found_total == [20]
