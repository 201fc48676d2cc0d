"""PostgreSQL backend: weighted tsvector (GIN) ranked with ts_rank; pg_trgm for typos
and partial model numbers."""

from __future__ import annotations

from sqlalchemy import Float, FromClause, Integer, String, column, text

from shop.search.backends.base import SearchBackend, combine_groups, coverage_term, first_letters
from shop.search.query import Alternative, QueryPlan
from shop.search.scoring import COVERAGE
from shop.search.tokens import is_model_like

#: ts_rank weights for the D, C, B, A labels (description, category+type, brand, title+model).
LABEL_WEIGHTS = "{0.5, 0.5, 0.5, 1.0}"
#: ts_rank normalization 16: divide by 1 + log(number of distinct words), so a word in a
#: short product text counts more than in a long one (as BM25's length normalization does).
NORMALIZATION = 16


def alternative_expr(alt: Alternative) -> str:
    """tsquery syntax for one alternative: tokens joined by ``<->``, maybe a prefix."""
    toks = list(alt.tokens)
    if alt.prefix:
        toks[-1] = toks[-1] + ":*"
    return "(" + " <-> ".join(toks) + ")"


def tsquery_text(plan: QueryPlan, require_all: bool) -> str:
    """The to_tsquery text of a plan: groups joined by ``&`` (or ``|``)."""
    return combine_groups(plan, require_all, alternative_expr, "&", "|")


class PostgresBackend(SearchBackend):
    """Search over ``search_documents`` and ``search_words``."""

    name = "postgresql"

    def doc_freq(self, words: list[str]) -> dict[str, int]:
        """Document counts of the words from ``search_words`` (see :mod:`shop.search.index`)."""
        if not words:
            return {}
        rows = self._rows("SELECT word, ndoc FROM search_words WHERE word = ANY(:words)", words=list(words))
        out = {w: 0 for w in words}
        out.update({r[0]: int(r[1]) for r in rows})
        return out

    def stem_hits(self, word: str) -> bool:
        """True if the stemmed index has ``word``."""
        # Planned apart from the LIMIT, so that a word in no document is looked up in the
        # GIN index rather than by reading every document in the hope of an early hit.
        return bool(
            self._rows(
                "WITH m AS MATERIALIZED (SELECT product_id FROM search_documents "
                "WHERE tsv @@ to_tsquery('english', :w)) SELECT 1 FROM m LIMIT 1",
                w=word,
            )
        )

    def near_words(self, word: str, limit: int = 20) -> list[tuple[str, int]]:
        """Words of similar length (within 2 letters) that start with the word's first or
        second letter, as on SQLite (:func:`shop.search.backends.base.first_letters`), and
        the ``limit`` words with the most trigrams in common (pg_trgm: a typo in the
        first letter), with their counts. Trigrams alone miss two letters swapped in a
        short word ("mosue" shares 2 of 10 trigrams with "mouse"), or a short word's first
        letter typed in excess ("dslr" shares 2 of 7 with "slr")."""
        if not word:
            return []
        first, second = first_letters(word)
        rows = self._rows(
            "SELECT word, ndoc FROM search_words WHERE ((word >= :a AND word < :b) "
            "OR (word >= :c AND word < :d)) AND length(word) BETWEEN :lo AND :hi "
            "UNION (SELECT word, ndoc FROM search_words WHERE word % :w "
            "ORDER BY similarity(word, :w) DESC, word LIMIT :n)",
            a=first,
            b=chr(ord(first) + 1),
            c=second,
            d=chr(ord(second) + 1),
            lo=len(word) - 2,
            hi=len(word) + 2,
            w=word,
            n=limit,
        )
        return [(r[0], int(r[1])) for r in rows if abs(len(r[0]) - len(word)) <= 2]

    def prefix_words(self, prefix: str, limit: int = 8) -> list[str]:
        """Words starting with ``prefix``, shortest first."""
        if not prefix:
            return []
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._rows(
            "SELECT word FROM search_words WHERE word LIKE :p ORDER BY length(word), word LIMIT :n",
            p=like,
            n=limit,
        )
        return [r[0] for r in rows]

    def match(self, plan: QueryPlan, required: QueryPlan | None = None, scored: bool = True) -> FromClause:
        """``(product_id, score, category_id, brand, price_cents, stock)``: tsquery matches,
        those matching every group first, then by ts_rank; see :meth:`SearchBackend.match`.
        The product facts come from the index (facets count them without ``products``). A query of one model-number-like word
        also finds it inside longer model numbers (pg_trgm index)."""
        needed = required or plan
        params = {"q": tsquery_text(needed, True)}
        where = "d.tsv @@ q.q"
        raw = needed.groups[0].text.replace(" ", "") if len(needed.groups) == 1 else ""
        if len(raw) >= 4 and is_model_like(raw):
            where += " OR d.doc LIKE :pattern"
            params["pattern"] = "%" + raw.replace("\\", "").replace("%", "").replace("_", "") + "%"
        score = "0"
        if scored:
            # Products matching every group come first. The query of all groups is parsed
            # once, in FROM, as the required one is: in the select list to_tsquery (a
            # stable function) runs again for every match.
            coverage = coverage_term(plan, required, params, tsquery_text, "(d.tsv @@ a.a)::int")
            score = f"{COVERAGE} * ({coverage}) + ts_rank('{LABEL_WEIGHTS}', d.tsv, q.q, {NORMALIZATION})"
        every = ", to_tsquery('english', :all) AS a(a)" if "all" in params else ""
        stmt = text(
            f"SELECT d.product_id AS product_id, {score} AS score, "
            "d.category_id, d.brand, d.price_cents, d.stock "
            f"FROM search_documents d, to_tsquery('english', :q) AS q(q){every} "
            f"WHERE {where}"
        ).bindparams(**params)
        return stmt.columns(
            column("product_id", Integer),
            column("score", Float),
            column("category_id", Integer),
            column("brand", String),
            column("price_cents", Integer),
            column("stock", Integer),
        ).cte("m")
