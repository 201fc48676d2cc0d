"""The search index's DDL: the database structures the ORM does not model, and the
functions that install, fill, tidy and empty them.

The index is kept by the database itself: triggers on ``products`` and ``categories``
rewrite a product's index entry in the same transaction as any insert, update or delete,
whatever code path issued it (ORM, Core bulk statements, raw SQL). Only active products
are ever in the index. Stock and price changes do not touch the words (on PostgreSQL
they only update the copies of price and stock that facets count).

SQLite (FTS5):
    ``search_fts``    porter-stemmed full-text table, one row per active product
                      (rowid = product id), columns title, model, brand, category, kind, body.
    ``search_words``  the same words unstemmed (title, model, brand, category) and
                      ``search_words_vocab`` (fts5vocab) over it: the vocabulary for typo
                      correction, prefix suggestions and compound splitting.
PostgreSQL:
    ``search_documents`` one row per active product: a weighted ``tsvector`` (GIN), the
                      lower-cased title + model text (pg_trgm GIN, for partial model numbers)
                      and copies of category, brand, price and stock, so that the facets of
                      a query's matches are counted without reading ``products``.
    ``search_words``  distinct unstemmed words (pg_trgm GIN) with the number of products
                      that had them when indexed (``ndoc``: counted up on every index write,
                      exact after a rebuild; only compared, for typos and compounds).

``install`` creates them (called by the migration and by the test setup; idempotent,
and it indexes products already present); ``rebuild`` indexes every active product again,
``reindex`` does both and ``analyze`` tidies up after a bulk change (``flask shop
reindex``, the catalog import); ``clear`` empties them between tests.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from shop.dbconnect import unbounded
from shop.search.index_ddl import PG_LAYOUT_INDEX, PG_STATEMENTS, SQLITE_BUMP, sqlite_fill, sqlite_statements


def uncount_attributes(conn: Connection) -> None:
    """Put back the triggers that do not count a change to a product's attributes in
    :func:`state` (the migration's downgrade)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER IF EXISTS search_products_attributes ON products"))
        return
    for stmt in sqlite_statements(attributes=False):
        conn.execute(text(stmt))


def uncount(conn: Connection) -> None:
    """Remove the change counter (:func:`state`) and put back triggers that do not update it
    (the migration's downgrade)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER IF EXISTS search_documents_state ON search_documents"))
        conn.execute(text("DROP FUNCTION IF EXISTS search_state_trigger()"))
        conn.execute(text("DROP SEQUENCE IF EXISTS search_state_seq"))
        return
    for stmt in sqlite_statements(counted=False):
        if "search_state" not in stmt:
            conn.execute(text(stmt))
    conn.execute(text("DROP TABLE IF EXISTS search_state"))


def install(conn: Connection) -> None:
    """Create the search index structures for the connection's dialect (idempotent).

    Needs the ORM tables (``products``, ``categories``) to exist. Products already in the
    database are indexed if the index is empty. On PostgreSQL this runs
    ``CREATE EXTENSION IF NOT EXISTS pg_trgm`` (the role needs the right to do so).
    """
    if conn.dialect.name == "postgresql":
        for stmt in PG_STATEMENTS:
            conn.execute(text(stmt))
        empty = conn.execute(text("SELECT NOT EXISTS (SELECT 1 FROM search_documents)")).scalar()
    else:
        for stmt in sqlite_statements():
            conn.execute(text(stmt))
        empty = conn.execute(text("SELECT NOT EXISTS (SELECT 1 FROM search_fts)")).scalar()
    if empty:
        rebuild(conn)


def state(conn: Connection) -> int | None:
    """A number that changes whenever anything search reads changes (a product's words,
    status, category, price, stock or attributes, a category's name), whatever wrote it:
    the index's triggers count every change. Keys the result cache
    (:func:`shop.search.services.search`). None while the connection's transaction has
    written and not yet committed: what it sees may be rolled back, so it is not cached.

    On SQLite it is a row the triggers update in the writing transaction. On PostgreSQL
    it is a sequence (``search_state_seq``) advanced by a statement trigger on
    ``search_documents``: not transactional, so a search running between a write and its
    commit may cache the old answer under the new number; the shop's own writes also bump
    the catalog version after commit (:func:`shop.cache.bump_catalog_version`), which is
    in the key too.
    """
    if conn.dialect.name == "postgresql":
        row = conn.execute(
            text("SELECT last_value, pg_current_xact_id_if_assigned() IS NULL FROM search_state_seq")
        ).one()
        return int(row[0] or 0) if row[1] else None
    # pysqlite opens a transaction only before a write: one open means this connection
    # has written and not committed.
    if getattr(conn.connection.driver_connection, "in_transaction", False):
        return None
    return int(conn.execute(text("SELECT version FROM search_state WHERE id = 1")).scalar() or 0)


def clear(conn: Connection) -> None:
    """Empty the search index structures (tests)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("TRUNCATE search_documents, search_words"))
    else:
        conn.execute(text("DELETE FROM search_fts"))
        conn.execute(text("DELETE FROM search_words"))


def product_ids(conn: Connection) -> list[int]:
    """Ids of all active products (what a rebuild indexes), ascending."""
    return list(conn.execute(text("SELECT id FROM products WHERE status = 'active' ORDER BY id")).scalars())


def rebuild(conn: Connection, batch_size: int = 2000, progress=None) -> int:
    """Empty the index and index every active product again, in batches.

    Args:
        progress: optional callable taking the number of products just indexed.
    Returns:
        The number of products indexed.
    """
    clear(conn)
    ids = product_ids(conn)
    pg = conn.dialect.name == "postgresql"
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        if pg:
            conn.execute(text("SELECT search_refresh_products(CAST(:ids AS integer[]))"), {"ids": batch})
        else:
            where = f"p.id BETWEEN {int(batch[0])} AND {int(batch[-1])}"
            for stmt in sqlite_fill(where):
                conn.execute(text(stmt))
        if progress:
            progress(len(batch))
    if not pg:
        conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))
        conn.execute(text("INSERT INTO search_words(search_words) VALUES ('optimize')"))
        conn.execute(text(SQLITE_BUMP))
    return len(ids)


def reindex(conn: Connection, batch_size: int = 2000, progress=None) -> int:
    """Install the index structures, index every active product again and tidy up
    (:func:`install`, :func:`rebuild`, :func:`analyze`): what a schema change of the
    index or ``flask shop reindex`` needs.

    Returns:
        The number of products indexed.
    """
    install(conn)
    n = rebuild(conn, batch_size=batch_size, progress=progress)
    analyze(conn)
    return n


#: GIN indexes whose pending lists a bulk change leaves to be merged (PostgreSQL).
_PG_GIN_INDEXES = ("ix_search_documents_tsv", "ix_search_documents_doc", "ix_search_words_trgm")


#: Seconds :func:`lay_out` waits for the documents' table before it gives up: while it
#: waits, every search that comes after waits behind it.
LAYOUT_LOCK_TIMEOUT = 2

log = logging.getLogger(__name__)


def analyze(conn: Connection) -> None:
    """Tidy the index after a bulk change (import, rebuild) and refresh the planner's
    statistics.

    On PostgreSQL the documents are first laid out by category (:func:`lay_out`), and the
    GIN indexes' pending lists are merged into the indexes (``gin_clean_pending_list``,
    what a VACUUM would do later): until then every search reads the whole pending list,
    and the planner, costing that in, reads the table instead (after a 19,000-product
    import, 8 ms instead of 0.1 ms to find one word).
    """
    if conn.dialect.name == "postgresql":
        lay_out(conn)
        for index in _PG_GIN_INDEXES:
            conn.execute(text("SELECT gin_clean_pending_list(CAST(:ix AS regclass))"), {"ix": index})
        conn.execute(text("ANALYZE products"))
        conn.execute(text("ANALYZE search_documents"))
        conn.execute(text("ANALYZE search_words"))
    else:
        conn.execute(text("ANALYZE"))


def lay_out(conn: Connection) -> bool:
    """Rewrite the PostgreSQL documents in category order (``CLUSTER`` on
    :data:`shop.search.index_ddl.PG_LAYOUT_INDEX`), leaving a tenth of each page free.

    Counting and ranking a query's matches reads each matching document from the table.
    The products a query names are mostly of one or a few categories: laid out by
    category, they share pages. At 194,000 products "laptop" (9,110 matches) read 6,111
    pages in import order and about 600 in category order; the tally went from 12 to 5
    ms and the ranked window from 15 to 7 ms. A document rewritten later (a renamed
    product) goes wherever there is room, so the layout wears until the next import or
    ``flask shop reindex``; a change of stock or price stays in its page (the free tenth).

    ``CLUSTER`` locks the table against every reader while it rewrites it and its indexes
    (0.7 s at 19,000 products, 6 s at 194,000): searches wait for it. It waits at most
    :data:`LAYOUT_LOCK_TIMEOUT` seconds for the table (a long transaction reading it),
    then leaves the layout as it is; neither the app's statement timeout nor its read
    deadline (:func:`shop.dbconnect.unbounded`) cuts it short.

    Returns:
        True when the documents were laid out, False when the table was busy (logged).
    """
    saved = conn.execute(
        text("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')")
    ).one()
    conn.execute(
        text("SELECT set_config('lock_timeout', :lock, true), set_config('statement_timeout', '0', true)"),
        {"lock": f"{int(LAYOUT_LOCK_TIMEOUT * 1000)}ms"},
    )
    try:
        with conn.begin_nested(), unbounded(conn.connection.driver_connection):
            conn.execute(text(f"CLUSTER search_documents USING {PG_LAYOUT_INDEX}"))
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        log.warning("search index: the documents' table was busy; their layout is left as it was")
        return False
    finally:
        conn.execute(
            text(
                "SELECT set_config('lock_timeout', :lock, true), set_config('statement_timeout', :stmt, true)"
            ),
            {"lock": saved[0], "stmt": saved[1]},
        )
    return True
