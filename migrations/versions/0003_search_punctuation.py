"""search: punctuation separates words in the PostgreSQL index, as in queries

Revision ID: 0003_search_punctuation
Revises: 0002_search_index
Create Date: 2026-11-21

PostgreSQL's text parser kept tokens such as "phone/smartphone" whole (as a file name),
so no query word met them. The index function now splits on punctuation
(``search_words_of``); this revision installs it and re-indexes the active products.
SQLite's FTS5 tokenizer always split there: nothing changes on SQLite.
"""

from alembic import op

revision = "0003_search_punctuation"
down_revision = "0002_search_index"
branch_labels = None
depends_on = None


def upgrade():
    from shop.search import index

    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        index.install(conn)
        index.rebuild(conn)


def downgrade():
    # The older index function is not restored: the split index answers every query the
    # unsplit one did, and the 0002 downgrade drops every search_* function anyway.
    pass
