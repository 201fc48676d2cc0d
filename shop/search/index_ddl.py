"""The search index's DDL, for each dialect: tables, triggers and functions that keep a
product's index entry in step with every write (:mod:`shop.search.index` installs, fills
and tidies them; its docstring describes what each structure holds)."""

from __future__ import annotations

#: Columns of products whose change rewrites the index entry.
_INDEXED_COLUMNS = "name, model, brand, category_id, product_type, description, status"

# --- SQLite ------------------------------------------------------------------------------

# Model numbers are indexed as written and with their separators removed, so that
# "dv7-1211ea", "dv7 1211ea" and "dv71211ea" all meet.
_SQLITE_MODEL = (
    "p.model || ' ' || replace(replace(replace(replace(p.model, '-', ''), '/', ''), '.', ''), '_', '')"
)
# Icecat writes pack sizes as "24 pc(s)" or "50 pcs": a count, not a word a shopper
# searches for ("pc" is a computer). Titles are indexed without them.
_SQLITE_TITLE = "replace(replace(p.name, 'pc(s)', ' '), ' pcs', ' ')"
_SQLITE_CATEGORY = "coalesce(c.name, '') || ' ' || coalesce(pc.name, '')"
_SQLITE_FROM = (
    "FROM products p LEFT JOIN categories c ON c.id = p.category_id "
    "LEFT JOIN categories pc ON pc.id = c.parent_id"
)


def sqlite_fill(where: str) -> list[str]:
    """INSERT ... SELECT statements indexing the active products matching ``where``."""
    return [
        "INSERT INTO search_fts(rowid, title, model, brand, category, kind, body) "
        f"SELECT p.id, {_SQLITE_TITLE}, {_SQLITE_MODEL}, p.brand, {_SQLITE_CATEGORY}, p.product_type, "
        f"replace(replace(p.description, '<br />', ' '), '<br>', ' ') {_SQLITE_FROM} "
        f"WHERE p.status = 'active' AND ({where})",
        "INSERT INTO search_words(rowid, words) "
        f"SELECT p.id, {_SQLITE_TITLE} || ' ' || {_SQLITE_MODEL} || ' ' || p.brand || ' ' || {_SQLITE_CATEGORY} "
        f"{_SQLITE_FROM} WHERE p.status = 'active' AND ({where})",
    ]


def _sqlite_drop(where: str) -> list[str]:
    """DELETE statements removing the index rows whose rowid matches ``where``."""
    return [f"DELETE FROM search_fts WHERE {where}", f"DELETE FROM search_words WHERE {where}"]


def _sqlite_category_scope(ref: str) -> str:
    """Products in category ``ref`` or in one of its children."""
    return f"p.category_id = {ref} OR p.category_id IN (SELECT id FROM categories WHERE parent_id = {ref})"


#: Counts every change to what search reads (see :func:`shop.search.index.state`): run by
#: every trigger.
SQLITE_BUMP = "UPDATE search_state SET version = version + 1 WHERE id = 1"


def sqlite_statements(counted: bool = True, attributes: bool = True) -> list[str]:
    """DDL for the SQLite index, in order (idempotent).

    Args:
        counted: the triggers update ``search_state`` (False: the triggers of the release
            before the counter, for the migration's downgrade).
        attributes: a change to a product's attributes updates ``search_state`` too (the
            re-rank reads them; False: the release before, for the migration's downgrade).
    """
    bump = [SQLITE_BUMP] if counted else []
    facts = "price_cents, stock, attributes" if attributes else "price_cents, stock"
    body = lambda stmts: " ".join(s + ";" for s in [*stmts, *bump])  # noqa: E731
    cat_rowids = "rowid IN (SELECT p.id FROM products p WHERE " + _sqlite_category_scope("new.id") + ")"
    return [
        "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5("
        "title, model, brand, category, kind, body, "
        "tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3')",
        "CREATE VIRTUAL TABLE IF NOT EXISTS search_words USING fts5("
        "words, detail = none, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')",
        "CREATE VIRTUAL TABLE IF NOT EXISTS search_words_vocab USING fts5vocab(search_words, 'row')",
        "DROP TRIGGER IF EXISTS search_products_ai",
        "DROP TRIGGER IF EXISTS search_products_au",
        "DROP TRIGGER IF EXISTS search_products_ad",
        "DROP TRIGGER IF EXISTS search_categories_au",
        "DROP TRIGGER IF EXISTS search_products_facts",
        "CREATE TABLE IF NOT EXISTS search_state (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)",
        "INSERT OR IGNORE INTO search_state (id, version) VALUES (1, 0)",
        *(
            [
                f"CREATE TRIGGER search_products_facts AFTER UPDATE OF {facts} ON products BEGIN "
                + body([])
                + " END"
            ]
            if counted
            else []
        ),
        "CREATE TRIGGER search_products_ai AFTER INSERT ON products WHEN new.status = 'active' BEGIN "
        + body(sqlite_fill("p.id = new.id"))
        + " END",
        f"CREATE TRIGGER search_products_au AFTER UPDATE OF {_INDEXED_COLUMNS} ON products BEGIN "
        + body(_sqlite_drop("rowid = old.id") + sqlite_fill("p.id = new.id"))
        + " END",
        "CREATE TRIGGER search_products_ad AFTER DELETE ON products BEGIN "
        + body(_sqlite_drop("rowid = old.id"))
        + " END",
        "CREATE TRIGGER search_categories_au AFTER UPDATE OF name, parent_id ON categories BEGIN "
        + body(_sqlite_drop(cat_rowids) + sqlite_fill(_sqlite_category_scope("new.id")))
        + " END",
    ]


# --- PostgreSQL --------------------------------------------------------------------------

#: The btree index the PostgreSQL documents are laid out by (``CLUSTER``): their category.
PG_LAYOUT_INDEX = "ix_search_documents_category"

#: DDL for the PostgreSQL index, in order (idempotent).
PG_STATEMENTS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE TABLE IF NOT EXISTS search_documents (
        product_id integer PRIMARY KEY REFERENCES products(id) ON DELETE CASCADE,
        tsv tsvector NOT NULL,
        doc text NOT NULL
    )""",
    # What facets count, copied from the product so that counting a query's matches
    # reads only the index (stock and price follow every change: search_products_facts).
    "ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS category_id integer",
    "ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS brand text NOT NULL DEFAULT ''",
    "ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS price_cents integer NOT NULL DEFAULT 0",
    "ALTER TABLE search_documents ADD COLUMN IF NOT EXISTS stock integer NOT NULL DEFAULT 0",
    "CREATE INDEX IF NOT EXISTS ix_search_documents_tsv ON search_documents USING gin (tsv)",
    "CREATE INDEX IF NOT EXISTS ix_search_documents_doc ON search_documents USING gin (doc gin_trgm_ops)",
    # The order the documents are laid out in after a bulk change
    # (shop.search.index.lay_out), and room in each page for a new version of a row
    # whose stock or price changed (a HOT update stays in its page).
    f"CREATE INDEX IF NOT EXISTS {PG_LAYOUT_INDEX} ON search_documents (category_id)",
    "ALTER TABLE search_documents SET (fillfactor = 90)",
    "CREATE TABLE IF NOT EXISTS search_words (word text PRIMARY KEY)",
    "ALTER TABLE search_words ADD COLUMN IF NOT EXISTS ndoc integer NOT NULL DEFAULT 0",
    "CREATE INDEX IF NOT EXISTS ix_search_words_trgm ON search_words USING gin (word gin_trgm_ops)",
    # The words of a text as the query side splits them (shop.search.tokens.tokenize):
    # punctuation separates. Without this the parser keeps "phone/smartphone" or
    # "dv7-1211ea.zip" as one file-name token that no query word meets.
    """CREATE OR REPLACE FUNCTION search_words_of(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT regexp_replace(coalesce(t, ''), '[[:punct:]]+', ' ', 'g')
    $$""",
    # One product's index entry: title and model weigh A, brand B, category and
    # product type C, the description D. Model numbers also appear without separators.
    """CREATE OR REPLACE FUNCTION search_refresh_products(ids integer[]) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM search_documents WHERE product_id = ANY(ids);
        WITH src AS (
            SELECT p.id, regexp_replace(p.name, 'pc[(]s[)]|\\mpcs\\M', ' ', 'g') AS name,
                   p.brand, p.product_type, p.description, p.category_id,
                   p.price_cents, p.stock,
                   p.model || ' ' || regexp_replace(p.model, '[-/._]', '', 'g') AS model,
                   coalesce(c.name, '') || ' ' || coalesce(pc.name, '') AS category
            FROM products p
            LEFT JOIN categories c ON c.id = p.category_id
            LEFT JOIN categories pc ON pc.id = c.parent_id
            WHERE p.id = ANY(ids) AND p.status = 'active'
        ), ins AS (
            INSERT INTO search_documents (product_id, tsv, doc, category_id, brand, price_cents, stock)
            SELECT id,
                   setweight(to_tsvector('english', search_words_of(name)), 'A')
                   || setweight(to_tsvector('simple', search_words_of(model)), 'A')
                   || setweight(to_tsvector('english', search_words_of(brand)), 'B')
                   || setweight(to_tsvector('english', search_words_of(category)), 'C')
                   || setweight(to_tsvector('english', search_words_of(product_type)), 'C')
                   || setweight(to_tsvector('english', search_words_of(
                        regexp_replace(description, '<[^>]*>', ' ', 'g'))), 'D'),
                   lower(name || ' ' || model), category_id, coalesce(brand, ''), price_cents, stock
            FROM src
            RETURNING product_id
        )
        INSERT INTO search_words AS sw (word, ndoc)
        SELECT w, count(DISTINCT src.id) FROM src,
            regexp_split_to_table(lower(src.name || ' ' || src.model || ' ' || src.brand || ' '
                                        || src.category), '[^[:alnum:]]+') AS w
        WHERE length(w) >= 2
        GROUP BY w ORDER BY w
        ON CONFLICT (word) DO UPDATE SET ndoc = sw.ndoc + EXCLUDED.ndoc;
    END $$""",
    """CREATE OR REPLACE FUNCTION search_products_trigger() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM search_refresh_products(ARRAY[NEW.id]);
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION search_products_insert_trigger() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM search_refresh_products(ARRAY(SELECT id FROM new_rows));
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION search_products_facts_trigger() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE search_documents SET price_cents = NEW.price_cents, stock = NEW.stock
        WHERE product_id = NEW.id;
        RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION search_categories_trigger() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM search_refresh_products(ARRAY(
            SELECT p.id FROM products p WHERE p.category_id = NEW.id
               OR p.category_id IN (SELECT id FROM categories WHERE parent_id = NEW.id)));
        RETURN NULL;
    END $$""",
    # Counts every change to what search reads (see state()): any write to the index,
    # whichever trigger or cascade made it. A sequence, not a row: concurrent orders
    # changing stock never wait for each other on it.
    "CREATE SEQUENCE IF NOT EXISTS search_state_seq",
    """CREATE OR REPLACE FUNCTION search_state_trigger() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM nextval('search_state_seq');
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS search_documents_state ON search_documents",
    """CREATE TRIGGER search_documents_state AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
        ON search_documents FOR EACH STATEMENT EXECUTE FUNCTION search_state_trigger()""",
    "DROP TRIGGER IF EXISTS search_products_sync ON products",
    "DROP TRIGGER IF EXISTS search_products_insert ON products",
    "DROP TRIGGER IF EXISTS search_categories_sync ON categories",
    "DROP TRIGGER IF EXISTS search_products_facts ON products",
    # Inserts are handled per statement (one pass over a bulk import's rows); updates
    # per row, only when an indexed column is named (stock updates skip the index).
    """CREATE TRIGGER search_products_insert AFTER INSERT ON products
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
        EXECUTE FUNCTION search_products_insert_trigger()""",
    f"""CREATE TRIGGER search_products_sync AFTER UPDATE OF {_INDEXED_COLUMNS}
        ON products FOR EACH ROW EXECUTE FUNCTION search_products_trigger()""",
    # Price and stock changes (every order) only update the copied facts.
    """CREATE TRIGGER search_products_facts AFTER UPDATE OF price_cents, stock
        ON products FOR EACH ROW WHEN (OLD.price_cents IS DISTINCT FROM NEW.price_cents
                                       OR OLD.stock IS DISTINCT FROM NEW.stock)
        EXECUTE FUNCTION search_products_facts_trigger()""",
    """CREATE TRIGGER search_categories_sync AFTER UPDATE OF name, parent_id
        ON categories FOR EACH ROW EXECUTE FUNCTION search_categories_trigger()""",
    # Attributes are not indexed, but the re-rank reads them: a change counts.
    "DROP TRIGGER IF EXISTS search_products_attributes ON products",
    """CREATE TRIGGER search_products_attributes AFTER UPDATE OF attributes
        ON products FOR EACH STATEMENT EXECUTE FUNCTION search_state_trigger()""",
]
