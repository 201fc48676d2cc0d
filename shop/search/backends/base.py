"""The interface every search backend implements."""

from __future__ import annotations

from sqlalchemy import FromClause, text
from sqlalchemy.orm import Session

from shop.search import stats
from shop.search.query import Alternative, QueryPlan


def combine_groups(plan, require_all: bool, alternative_expr, and_op: str, or_op: str) -> str:
    """A plan as a boolean query: each group's alternatives joined by ``or_op``, the groups
    by ``and_op`` (all words required) or ``or_op`` (any word). The dialect supplies the
    syntax of one alternative (``alternative_expr``) and of the operators."""
    groups = [
        "(" + f" {or_op} ".join(alternative_expr(a) for a in g.alternatives) + ")"
        for g in plan.groups
        if g.alternatives
    ]
    return f" {and_op if require_all else or_op} ".join(groups)


def first_letters(word: str) -> tuple[str, str]:
    """The letters a correction of ``word`` may start with: its first, and its second
    (for a word of one letter, the first again). A misspelling that keeps the first letter
    leaves the word there; deleting the first letter ("dslr" for "slr") or swapping the
    first two ("odg") moves it to the second. Candidates are looked up by their first
    letter, a range of the sorted vocabulary; a first letter substituted or inserted is
    found by neither (PostgreSQL's trigrams find some)."""
    return word[0], word[1] if len(word) > 1 else word[0]


def coverage_term(
    plan: QueryPlan, required: QueryPlan | None, params: dict, query_text, matches_all: str
) -> str:
    """The SQL that ranks the products matching every group of ``plan`` first, when only
    ``required``'s groups must match: ``matches_all`` (the dialect's test of the parameter
    ``:all``, 1 for such a product), with ``params["all"]`` set to ``query_text(plan, True)``.
    ``"0"`` when every group is required (every match matches them all)."""
    if required is None or len(required.groups) >= len(plan.groups):
        return "0"
    params["all"] = query_text(plan, True)
    return matches_all


class SearchBackend:
    """Base class: holds the session; subclasses implement the dialect's SQL."""

    name = "base"

    def __init__(self, session: Session):
        self.session = session

    def _rows(self, sql: str, **params):
        """Run raw SQL with named parameters and return all rows."""
        return self.session.execute(text(sql), params).all()

    # --- vocabulary (shop.search.query.Vocabulary) ---
    def doc_freq(self, words: list[str]) -> dict[str, int]:
        """Number of active products containing each unstemmed word (missing: 0)."""
        raise NotImplementedError

    def stem_hits(self, word: str) -> bool:
        """True if ``word`` matches the stemmed index."""
        raise NotImplementedError

    def near_words(self, word: str, limit: int = 50) -> list[tuple[str, int]]:
        """Indexed words resembling ``word`` with their document counts."""
        raise NotImplementedError

    def phrase_freq(self, tokens: tuple[str, ...]) -> int:
        """Number of active products matching the tokens as a phrase (stemmed, any field):
        :func:`shop.search.stats.phrase_doc_freq`, a cached statistic."""
        alt = Alternative(tuple(tokens))
        return stats.phrase_doc_freq(self, [alt])[alt]

    def prefix_words(self, prefix: str, limit: int = 8) -> list[str]:
        """Indexed words starting with ``prefix``, most frequent first."""
        raise NotImplementedError

    def state(self) -> int | None:
        """A number that changes with anything search reads, None inside a transaction
        that has written (:func:`shop.search.index.state`)."""
        from shop.search import index

        return index.state(self.session.connection())

    # --- matching ---
    def match(self, plan: QueryPlan, required: QueryPlan | None = None, scored: bool = True) -> FromClause:
        """A subquery ``(product_id, score)`` of the active products matching ``plan``
        (higher score is better). A backend may add the columns ``category_id, brand,
        price_cents, stock`` from its index; facets then count those instead of joining
        ``products`` (:func:`shop.search.facets.tally`).

        Args:
            required: the groups that must match (a subset of ``plan``'s); by default every
                group. Products matching every group of ``plan`` then always score higher.
            scored: False when only the matches are counted (facets, document
                frequencies): the score is then 0, and the database does not compute it
                (BM25 is most of what SQLite FTS5 spends on a common word's matches).
        """
        raise NotImplementedError
