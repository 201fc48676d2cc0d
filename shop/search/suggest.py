"""Autocomplete for the search box: products, categories and brands for a typed prefix.

The last word typed is taken as unfinished: it is completed from the index vocabulary
(``backend.prefix_words``) before the products are searched, so "lenovo thi" suggests
ThinkPads. Categories and brands match when one of their words starts with the last word
and the earlier words appear in them too. Only active products (and the brands of active
products) are suggested.
"""

from __future__ import annotations

from sqlalchemy import func, select

from shop.catalog.models import Category, Product
from shop.extensions import db
from shop.search.backends import get_backend
from shop.search.cards import ProductCard
from shop.search.kinds import category_heads, head_key
from shop.search.params import SearchParams, analyzed_length
from shop.search.services import search
from shop.search.tokens import fold, tokenize


def _empty() -> dict:
    """No suggestions."""
    return {"products": [], "categories": [], "brands": []}


def _matches(name: str, words: list[str]) -> bool:
    """True when ``name`` has a word starting with the last of ``words`` and holds the others."""
    tokens = tokenize(name)
    *head, last = words
    return any(t.startswith(last) for t in tokens) and all(any(t.startswith(w) for t in tokens) for w in head)


def _categories(words: list[str], limit: int) -> list[Category]:
    """Categories whose name (or 'Parent > Leaf' name) matches the words: leaves first, and
    first among them those whose name lists the kind the last word names ("laptop":
    "Laptops" before "Laptop parts & docks", whose kinds are parts and docks;
    :func:`shop.search.kinds.category_heads`)."""
    cats = db.session.scalars(select(Category)).all()
    found = [c for c in cats if _matches(c.name, words) or _matches(c.full_name, words)]
    kind = head_key(words[-1])
    found.sort(
        key=lambda c: (
            c.parent_id is None,
            kind not in category_heads(c.name),
            not fold(c.name).startswith(words[0]),
            c.name,
        )
    )
    return found[:limit]


def _brands(words: list[str], limit: int) -> list[str]:
    """Brands of active products matching the words, those with most products first."""
    first = words[0].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = db.session.execute(
        select(Product.brand, func.count().label("n"))
        .where(
            Product.status == "active",
            Product.brand != "",
            func.lower(Product.brand).like(f"%{first}%", escape="\\"),
        )
        .group_by(Product.brand)
        .order_by(func.count().desc(), Product.brand)
        .limit(limit * 5)
    ).all()
    return [brand for brand, _n in rows if _matches(brand, words)][:limit]


def _products(words: list[str], limit: int) -> list[ProductCard]:
    """Best search results for the words with the last one completed from the vocabulary."""
    backend = get_backend(db.session)
    completions = backend.prefix_words(words[-1], limit=3) or [words[-1]]
    found: list[ProductCard] = []
    for word in completions:
        result = search(SearchParams(q=" ".join([*words[:-1], word]), per_page=limit), with_facets=False)
        found.extend(p for p in result.products if p not in found)
        if len(found) >= limit:
            break
    return found[:limit]


def suggest(prefix: str, limit: int = 6) -> dict:
    """Suggestions for what the shopper has typed so far.

    Args:
        prefix: the text in the search box (only its first
            :func:`shop.search.params.analyzed_length` characters are read, as a search does).
        limit: most suggestions of each kind.
    Returns:
        ``{"products": [ProductCard], "categories": [Category], "brands": [str]}``; empty lists
        for a prefix without letters or digits.
    """
    words = tokenize(prefix[: analyzed_length()])[-6:]
    if not words:
        return _empty()
    return {
        "products": _products(words, limit),
        "categories": _categories(words, limit),
        "brands": _brands(words, limit),
    }
