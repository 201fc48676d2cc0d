"""The re-rank window: the backend's best ``RERANK_WINDOW`` matches of a query, read with
their product fields and ordered the same way on every backend.

The window is ordered by BM25 as SQLite FTS5 computes it (:func:`shop.search.scoring.bm25`,
from the corpus statistics of :mod:`shop.search.stats`), re-ranked with the product fields
(:func:`shop.search.scoring.rerank`) and fused with a field-wise ranker
(:func:`shop.search.fieldwise.dismax`, :func:`shop.search.fieldwise.fuse`). Results past
the window follow the backend's own order.
"""

from __future__ import annotations

import json
from functools import lru_cache

from sqlalchemy import FromClause, Select, Text, cast, literal, select, union_all

from shop.catalog.categorize import load_categorizer
from shop.catalog.models import Category, Product
from shop.extensions import db
from shop.search import fieldwise, scoring, stats
from shop.search.backends import get_backend
from shop.search.cards import CARD_COLUMNS
from shop.search.facets import category_names
from shop.search.fieldwise import dismax, fuse, plural_stem, query_words
from shop.search.kept import KEPT_SIZE, Kept, kept
from shop.search.kept import forget as forget_kept
from shop.search.kinds import (
    PACK,
    expansions,
    kind_heads,
    kind_vocabulary,
    kind_weight,
    query_kinds,
    type_head,
)
from shop.search.query import QueryPlan
from shop.search.scoring import COVERAGE, Doc, attribute_text, bm25, rerank
from shop.sqlin import id_in

#: How many of the best text matches are re-ranked with the product fields.
RERANK_WINDOW = 100
#: How many more matches, from the category the query names, join the window.
KIND_WINDOW = 50


def window_page(
    ordered: Select,
    plan: QueryPlan,
    offset: int,
    limit: int,
    match: FromClause | None = None,
    state: int | None = None,
) -> list[int]:
    """Product ids ``offset`` to ``offset + limit`` of a query's matches.

    Args:
        ordered: a select of product ids, best first by the backend's score.
        plan: the analysed query.
        offset: how many results come before the page.
        limit: the page size.
        match: the backend's match subquery, when no filter applies: the best matches in
            the category the query names then join the window (:func:`_named_kind`).
        state: the index's change counter as this search read it, or None
            (:func:`load_docs`).
    Returns:
        The ids of the page: its part inside the window in re-ranked order
        (:func:`rerank_window`), the rest in the order of ``ordered``.
    """
    if offset >= RERANK_WINDOW:
        return list(db.session.scalars(ordered.limit(limit).offset(offset)))
    window, named = _window(ordered, match, query_leaf(plan) if match is not None else None)
    extra = _named_kind(named, window)
    ranked = rerank_window(plan, window + extra, state)
    end = offset + limit
    if end > len(ranked) and len(window) == RERANK_WINDOW:
        seen = set(ranked)
        more = db.session.scalars(ordered.limit(end - len(ranked) + len(extra)).offset(len(window)))
        ranked += [pid for pid in more if pid not in seen]
    return ranked[offset:end]


def _window(ordered: Select, match: FromClause | None, leaf: str | None) -> tuple[list[int], list[int]]:
    """The best ``RERANK_WINDOW`` ids of ``ordered`` and, when the query names the
    category ``leaf``, the best ``KIND_WINDOW + RERANK_WINDOW`` matches in it, best first.

    Both come from one statement: a backend whose match is materialized once per statement
    (SQLite's) then scores the matches once, not once for each list.
    """
    if match is None or not leaf:
        return list(db.session.scalars(ordered.limit(RERANK_WINDOW))), []
    top = ordered.add_columns(match.c.score).limit(RERANK_WINDOW).subquery()
    kind = select(match.c.product_id, match.c.score)
    if "category_id" in match.c:  # the index carries it (PostgreSQL): no product rows read
        kind = kind.join(Category, Category.id == match.c.category_id)
    else:
        kind = kind.join(Product, Product.id == match.c.product_id).join(
            Category, Category.id == Product.category_id
        )
    kind = (
        kind.where(Category.slug == leaf)
        .order_by(match.c.score.desc(), match.c.product_id)
        .limit(KIND_WINDOW + RERANK_WINDOW)
        .subquery()
    )
    rows = db.session.execute(
        union_all(
            select(top.c.product_id, top.c.score, literal(0)),
            select(kind.c.product_id, kind.c.score, literal(1)),
        )
    ).all()
    # Each list in its statement's order: score, best first, then id.
    best_first = sorted(rows, key=lambda r: (-r[1], r[0]))
    return [r[0] for r in best_first if r[2] == 0], [r[0] for r in best_first if r[2] == 1]


def _named_kind(named: list[int], window: list[int]) -> list[int]:
    """The best ``KIND_WINDOW`` matches in the category the query names
    (:func:`query_leaf`, read by :func:`_window` into ``named``) that the window does not
    hold, when the window is full: a query naming a kind in the shopper's words
    ("laptop") finds the products of that kind even when their titles use the catalog's
    word ("notebook") and accessories *for* it fill the text ranking."""
    if len(window) < RERANK_WINDOW:
        return []
    held = set(window)
    return [pid for pid in named if pid not in held][:KIND_WINDOW]


def rerank_window(plan: QueryPlan, window: list[int], state: int | None = None) -> list[int]:
    """The window's ids ordered by BM25 (:func:`shop.search.scoring.bm25`, the same on every
    backend), re-ranked with the product fields (:func:`shop.search.scoring.rerank`) and fused
    with the field-wise ranker (:func:`shop.search.fieldwise.dismax`, :func:`shop.search.fieldwise.fuse`),
    whose list also puts the products of the kind the query asks for first
    (:func:`shop.search.kinds.kind_weight`): in both lists a product of that kind ranks
    above the products only *for* it. ``state`` as for :func:`load_docs`."""
    if not window:
        return []
    docs = load_docs(window, state)
    backend = get_backend(db.session)
    freq = stats.phrase_doc_freq(backend, [a for g in plan.groups for a in g.alternatives])
    text = bm25(plan, docs, freq, stats.active_count(), stats.mean_length())
    by_text = sorted(window, key=lambda pid: -text.get(pid, 0.0))
    words = query_words(plan)
    asked = query_kinds(words, kind_vocabulary())
    kinds = {d.product_id: kind_weight(d.title, asked, d.kind) for d in docs} if asked else {}
    reranked = rerank(plan, docs, [{pid: i for i, pid in enumerate(by_text)}], query_leaf(plan), kinds)
    synonyms = expansions(words, kind_vocabulary())
    by_field = dismax(
        words,
        docs,
        stats.word_doc_freq(backend, words + [w for alts in synonyms.values() for w in alts]),
        stats.active_count(),
        stats.field_means(),
        synonyms,
    )
    # The field-wise ranker weighs words only: products of the kind asked for come first
    # in its list too, or fusing would let short titles of accessories *for* that kind
    # ("Canon printer roller") climb back above it.
    by_field_order = sorted(by_field, key=lambda pid: (-kinds.get(pid, 0.0), -by_field[pid]))
    fused = fuse([reranked, by_field_order])
    # Products matching more of the query's groups stay ahead (as the page promises).
    return sorted(fused, key=lambda pid: -(text.get(pid, 0.0) // COVERAGE))


def query_leaf(plan: QueryPlan) -> str | None:
    """Slug of the category the query names, read with the importer's category rules as
    if the query were a product title (:meth:`shop.catalog.categorize.Categorizer.head_leaf`:
    "notebook" names Laptops, "notebook case" Bags & cases); the query as read
    (:attr:`shop.search.query.QueryPlan.reading`: corrected, a word typed as one that the
    catalog writes as two read as those). None when the rules find none.

    The last word is read in the singular first (:func:`shop.search.fieldwise.plural_stem`,
    the minimal S-stemmer), then as typed when that finds none: the rules are written
    for titles, which name a kind in the singular ("mobile phone case"), and English
    puts the plural on the compound's last word, the one naming the kind ("phone cases"
    would otherwise name phones)."""
    if plan.empty:
        return None
    *rest, last = plan.reading.split() or [""]
    single = plural_stem(last.lower())
    if single != last.lower():
        found = _head_leaf(" ".join([*rest, single]))
        if found is not None:
            return found
    return _head_leaf(plan.reading)


@lru_cache(maxsize=4096)
def _head_leaf(query: str) -> str | None:
    """:meth:`shop.catalog.categorize.Categorizer.head_leaf` of a query (cached: the rules
    are read once per process, and a search asks twice)."""
    return load_categorizer().head_leaf(query)


def load_docs(ids: list[int], state: int | None = None) -> list[Doc]:
    """Re-ranking fields of the given products (:class:`shop.search.scoring.Doc`), in the
    given order, titles without pack sizes (as indexed); ids of missing products are left out.

    Args:
        ids: product ids.
        state: the index's change counter as this search read it
            (:func:`shop.search.index.state`), or None. With it, products this process
            read under the same counter and catalog version are not read again
            (:func:`shop.search.kept.kept`): a window of 150 products is then a dictionary
            lookup each, not a statement reading their descriptions and attributes. The
            products read are kept with their card columns too
            (:func:`shop.search.cards.load_products`).
    """
    keep = kept(state)
    docs = keep.docs
    missing = [i for i in ids if i not in docs]
    if missing:
        _read_docs(missing, keep)
    return [docs[i] for i in ids if i in docs]


def _read_docs(ids: list[int], keep: Kept) -> None:
    """Read the products of ``ids`` that exist into ``keep``: each one's
    :class:`shop.search.scoring.Doc` and its card row (:data:`shop.search.cards.CARD_COLUMNS`),
    in one statement."""
    rows = db.session.execute(
        select(
            Product.name,
            Product.model,
            Product.product_type,
            Category.name,
            Category.parent_id,
            Product.description,
            Category.slug,
            # As text: a product's Doc is kept per fields (:func:`_doc`), its attributes
            # not decoded again for every query.
            cast(Product.attributes, Text),
            *CARD_COLUMNS,
        )
        .outerjoin(Category, Category.id == Product.category_id)
        .where(id_in(Product.id, ids))
    ).all()
    parents = category_names()
    cards = len(CARD_COLUMNS)
    for r in rows:
        card = tuple(r[-cards:])
        pid, brand = card[0], card[4]
        keep.docs[pid] = _doc(pid, r[0], r[1], brand, r[2], r[3], parents.get(r[4], ""), *r[5:8])
        keep.cards[pid] = card


#: Products whose :func:`_doc` is kept per fields.
DOC_CACHE_SIZE = KEPT_SIZE


@lru_cache(maxsize=DOC_CACHE_SIZE)
def _doc(
    product_id: int,
    name: str,
    model: str | None,
    brand: str | None,
    product_type: str | None,
    leaf: str | None,
    parent: str,
    description: str | None,
    slug: str | None,
    attributes: str | None,
) -> Doc:
    """The :class:`shop.search.scoring.Doc` of a product's fields as :func:`load_docs` reads
    them, ``attributes`` as the database writes them (JSON text). Cached per fields
    (``DOC_CACHE_SIZE``): a product the window held before is neither decoded nor built
    again, and its texts are the same objects as before, whose hashes the rankers' token
    caches already hold. Readers never change a Doc."""
    return Doc(
        product_id,
        PACK.sub(" ", name),
        model or "",
        brand or "",
        f"{leaf or ''} {parent}",
        product_type or "",
        leaf or "",
        description or "",
        slug or "",
        attribute_text(json.loads(attributes)) if attributes else "",
    )


def forget_tokens() -> None:
    """Empty the rankers' token caches and the per-text caches of the re-rank window (a
    benchmark's cold start)."""
    scoring.forget_fields()
    fieldwise.forget_terms()
    _doc.cache_clear()
    forget_kept()
    _head_leaf.cache_clear()
    kind_heads.cache_clear()
    type_head.cache_clear()
