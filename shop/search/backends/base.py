"""The interface every search backend implements."""

from __future__ import annotations

from sqlalchemy import FromClause
from sqlalchemy.orm import Session

from shop.search.query import QueryPlan


class SearchBackend:
    """Base class: holds the session; subclasses implement the dialect's SQL."""

    name = "base"

    def __init__(self, session: Session):
        self.session = session

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

    def prefix_words(self, prefix: str, limit: int = 8) -> list[str]:
        """Indexed words starting with ``prefix``, most frequent first."""
        raise NotImplementedError

    # --- matching ---
    def match(self, plan: QueryPlan, require_all: bool = True) -> FromClause:
        """A subquery ``(product_id, score)`` of the active products matching ``plan``
        (higher score is better; more matched groups always score higher).

        Args:
            require_all: every group must match (AND); otherwise any group (OR).
        """
        raise NotImplementedError
