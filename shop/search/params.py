"""What a search takes: the shopper's parameters, the sorts, and the limits that the
results page, the JSON API and the suggestions share.

The page reads its query string leniently (it cuts what is too long); the API refuses
the same limits with a 422 (:mod:`shop.search.schemas`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from shop.exceptions import ValidationFailed
from shop.search.facets import PRICE_BANDS
from shop.search.query import ANALYZED_LENGTH

#: Results on one page of the search page, and the API's default ``per_page``.
PAGE_SIZE = 24
#: Longest query text accepted, in characters: the API and the suggestions refuse longer
#: text (422), the results page cuts it. The engine reads only the first
#: :func:`analyzed_length` characters of it. Even percent-encoded (up to 12 bytes a
#: character) the longest query fits the URL limit (``MAX_URL_LENGTH``, 4000 bytes).
MAX_QUERY_LENGTH = 300
#: Highest page number accepted.
MAX_PAGE = 100_000
#: Most brands one search filters by.
MAX_BRANDS = 20
#: Longest category slug and brand name accepted, in characters.
MAX_CATEGORY_LENGTH = 200
MAX_BRAND_LENGTH = 120
SORTS = {
    "relevance": "Relevance",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
    "newest": "Newest",
}


def analyzed_length() -> int:
    """How many leading characters of a query the engine reads: the app's
    ``SEARCH_MAX_QUERY_LENGTH`` (default :data:`shop.search.query.ANALYZED_LENGTH`)."""
    return current_app.config.get("SEARCH_MAX_QUERY_LENGTH", ANALYZED_LENGTH)


@dataclass
class SearchParams:
    """What the shopper asked for. Prices in cents; ``price`` is a band key of
    :data:`shop.search.facets.PRICE_BANDS`; ``brand`` may name several brands."""

    q: str = ""
    category: str | None = None
    brand: list[str] = field(default_factory=list)
    price: str | None = None
    in_stock: bool = False
    sort: str = "relevance"
    page: int = 1
    per_page: int = PAGE_SIZE
    #: Search the words as typed: no spelling correction ("search instead for ...").
    literal: bool = False

    @property
    def filtered(self) -> bool:
        """True when any filter (category, brand, price band, in stock) is set."""
        return bool(self.category or self.brand or self.price or self.in_stock)

    def validate(self) -> None:
        """Raises ValidationFailed for an unknown sort or price band, or bad paging."""
        errors: dict[str, list[str]] = {}
        if self.sort not in SORTS:
            errors["sort"] = [f"Must be one of: {', '.join(SORTS)}."]
        if self.price and self.price not in PRICE_BANDS:
            errors["price"] = [f"Must be one of: {', '.join(PRICE_BANDS)}."]
        if self.page < 1 or self.per_page < 1:
            errors["page"] = ["Must be a positive integer."]
        if errors:
            raise ValidationFailed("Invalid search parameters.", errors)
