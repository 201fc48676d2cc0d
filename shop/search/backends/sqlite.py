"""SQLite FTS5 backend: porter-stemmed BM25, every column weighing the same."""

from __future__ import annotations

from sqlalchemy import Float, FromClause, Integer, bindparam, column, text

from shop.cache_statistics import cached_statistic
from shop.search.backends.base import SearchBackend, combine_groups, coverage_term, first_letters
from shop.search.query import Alternative, QueryPlan
from shop.search.scoring import COVERAGE
from shop.search.stats import STAT_TIMEOUT


def _quote(token: str) -> str:
    """An FTS5 string literal (tokens are letters and digits, quoted anyway)."""
    return '"' + token.replace('"', '""') + '"'


def alternative_expr(alt: Alternative) -> str:
    """FTS5 syntax for one alternative: a (prefix) phrase."""
    expr = _quote(" ".join(alt.tokens))
    return expr + " *" if alt.prefix else expr


def match_expr(plan: QueryPlan, require_all: bool = True) -> str:
    """The FTS5 MATCH expression of a plan: groups joined by AND (or OR)."""
    return combine_groups(plan, require_all, alternative_expr, "AND", "OR")


class SqliteBackend(SearchBackend):
    """Search over the ``search_fts`` / ``search_words`` FTS5 tables."""

    name = "sqlite-fts5"

    def doc_freq(self, words: list[str]) -> dict[str, int]:
        """Document counts from the unstemmed vocabulary (``search_words_vocab``)."""
        if not words:
            return {}
        rows = self.session.execute(
            text("SELECT term, doc FROM search_words_vocab WHERE term IN :words").bindparams(
                bindparam("words", expanding=True)
            ),
            {"words": list(dict.fromkeys(words))},
        ).all()
        found = {term: int(doc) for term, doc in rows}
        return {w: found.get(w, 0) for w in words}

    def stem_hits(self, word: str) -> bool:
        """True if the stemmed index has ``word``."""
        return bool(self._rows("SELECT 1 FROM search_fts WHERE search_fts MATCH :q LIMIT 1", q=_quote(word)))

    def near_words(self, word: str, limit: int = 50) -> list[tuple[str, int]]:
        """Vocabulary words of similar length (within 2 letters) that start with the
        word's first or second letter (:func:`shop.search.backends.base.first_letters`)."""
        if not word:
            return []
        lo, hi = len(word) - 2, len(word) + 2
        return [
            (term, doc)
            for letter in dict.fromkeys(first_letters(word))
            for term, doc in self._words_from(letter)
            if lo <= len(term) <= hi
        ]

    def _words_from(self, letter: str) -> list[tuple[str, int]]:
        """Every vocabulary word starting with ``letter``, with its document count, kept
        as a statistic (:func:`shop.cache_statistics.cached_statistic`, ``STAT_TIMEOUT``):
        fts5vocab counts each word's documents as it reads it, 0.6 to 2.4 ms for one
        letter's words on the real catalog, for every unknown word of every query."""

        def produce() -> list[tuple[str, int]]:
            rows = self._rows(
                "SELECT term, doc FROM search_words_vocab WHERE term >= :a AND term < :b",
                a=letter,
                b=chr(ord(letter) + 1),
            )
            return [(r[0], int(r[1])) for r in rows]

        return cached_statistic(("search", "words-from", letter), produce, STAT_TIMEOUT)

    def prefix_words(self, prefix: str, limit: int = 8) -> list[str]:
        """Vocabulary words starting with ``prefix``, most frequent first."""
        if not prefix:
            return []
        rows = self._rows(
            "SELECT term FROM search_words_vocab WHERE term >= :a AND term < :b ORDER BY doc DESC LIMIT :n",
            a=prefix,
            b=prefix + "\U0010ffff",
            n=limit,
        )
        return [r[0] for r in rows]

    def match(self, plan: QueryPlan, required: QueryPlan | None = None, scored: bool = True) -> FromClause:
        """``(product_id, score)``: products matching every group first, then -bm25
        (higher is better; 0 when not ``scored``); see :meth:`SearchBackend.match`."""
        params = {"q": match_expr(required or plan, True)}
        score = "0"
        if scored:
            # Products matching every group come first (there are few: see services).
            coverage = coverage_term(
                plan,
                required,
                params,
                match_expr,
                "(rowid IN (SELECT rowid FROM search_fts WHERE search_fts MATCH :all))",
            )
            score = f"{COVERAGE} * ({coverage}) - bm25(search_fts)"
        stmt = text(
            f"SELECT rowid AS product_id, {score} AS score FROM search_fts WHERE search_fts MATCH :q"
        ).bindparams(**params)
        # Materialized: otherwise SQLite may run the MATCH once per product row of a join.
        return (
            stmt.columns(column("product_id", Integer), column("score", Float))
            .cte("m")
            .prefix_with("MATERIALIZED")
        )
