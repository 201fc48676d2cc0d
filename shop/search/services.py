"""Product search: the one service behind the results page, the JSON API and the eval.

``search(params)`` analyses the query (:mod:`shop.search.query`), lets the backend of
the database dialect find and score the matching active products, applies
the filters, computes the facets, and orders the page: by relevance (the backend's score
chooses the top ``RERANK_WINDOW``, which BM25 and the product fields of
:mod:`shop.search.scoring` order the same way on every backend, fused with a field-wise
ranker), price or newness.
Every group of the query must match; when fewer than ``RELAX_BELOW`` products do, the
groups that narrow the least are let go one by one (``relaxed``); products matching
every group still come first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import Select, select
from sqlalchemy.orm import defer, joinedload

from shop.catalog.categorize import load_categorizer
from shop.catalog.models import Category, Product
from shop.exceptions import ValidationFailed
from shop.extensions import db
from shop.search import facets as facet_mod
from shop.search import stats
from shop.search.backends import get_backend
from shop.search.query import QueryPlan, analyze
from shop.search.scoring import COVERAGE, Doc, attribute_text, bm25, dismax, fuse, query_words, rerank

#: How many of the best text matches are re-ranked with the product fields.
RERANK_WINDOW = 100
#: With fewer products matching every group than this (a page of results), the query
#: is relaxed: see :func:`_relaxations`.
RELAX_BELOW = 24
SORTS = {
    "relevance": "Relevance",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
    "newest": "Newest",
}


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
    per_page: int = 24

    @property
    def filtered(self) -> bool:
        """True when any filter (category, brand, price band, in stock) is set."""
        return bool(self.category or self.brand or self.price or self.in_stock)

    def validate(self) -> None:
        """Raises ValidationFailed for an unknown sort or price band, or bad paging."""
        errors: dict[str, list[str]] = {}
        if self.sort not in SORTS:
            errors["sort"] = [f"Must be one of: {', '.join(SORTS)}."]
        if self.price and self.price not in facet_mod.PRICE_BANDS:
            errors["price"] = [f"Must be one of: {', '.join(facet_mod.PRICE_BANDS)}."]
        if self.page < 1 or self.per_page < 1:
            errors["page"] = ["Must be a positive integer."]
        if errors:
            raise ValidationFailed("Invalid search parameters.", errors)


@dataclass
class SearchResult:
    """One page of results plus what the page needs around them."""

    products: list[Product]
    total: int
    page: int
    per_page: int
    facets: dict
    plan: QueryPlan
    relaxed: bool = False
    did_you_mean: str | None = None
    #: When relaxed: the words every listed product has (the others may be missing).
    required_words: list[str] = field(default_factory=list)
    #: When relaxed: how many products have every word (they are listed first).
    full_matches: int = 0
    closest_categories: list[dict] = field(default_factory=list)

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def highlight_terms(self) -> list[str]:
        """Tokens to highlight in titles."""
        return self.plan.tokens


def _filtered(base: Select, params: SearchParams, skip: str = "") -> Select:
    """Apply the shopper's filters except the one named ``skip`` (for its own facet)."""
    if params.category and skip != "category":
        base = base.where(Product.category_id.in_(facet_mod.category_ids(params.category)))
    if params.brand and skip != "brand":
        base = base.where(Product.brand.in_(params.brand))
    if params.price and skip != "price":
        lo, hi = facet_mod.PRICE_BANDS[params.price][1:]
        base = base.where(Product.price_cents >= lo)
        if hi is not None:
            base = base.where(Product.price_cents < hi)
    if params.in_stock and skip != "in_stock":
        base = base.where(Product.stock > 0)
    return base


def _docs(ids: list[int]) -> list[Doc]:
    """Re-ranking fields of the given products, in the given order."""
    rows = db.session.execute(
        select(
            Product.id,
            Product.name,
            Product.model,
            Product.brand,
            Product.product_type,
            Category.name,
            Category.parent_id,
            Product.description,
            Category.slug,
            Product.attributes,
        )
        .outerjoin(Category, Category.id == Product.category_id)
        .where(Product.id.in_(ids))
    ).all()
    parents = facet_mod.category_names()
    by_id = {
        r[0]: Doc(
            r[0],
            r[1],
            r[2] or "",
            r[3] or "",
            f"{r[5] or ''} {parents.get(r[6], '')}",
            r[4] or "",
            r[5] or "",
            r[7] or "",
            r[8] or "",
            attribute_text(r[9]),
        )
        for r in rows
    }
    return [by_id[i] for i in ids if i in by_id]


def _order(stmt: Select, sort: str, score) -> Select:
    """ORDER BY for a sort key (ties broken by id for stable pages)."""
    if sort == "price_asc":
        return stmt.order_by(Product.price_cents.asc(), Product.id)
    if sort == "price_desc":
        return stmt.order_by(Product.price_cents.desc(), Product.id)
    if sort == "newest" or score is None:
        return stmt.order_by(Product.created_at.desc(), Product.id.desc())
    return stmt.order_by(score.desc(), Product.id)


def _page_ids(stmt: Select, params: SearchParams, plan: QueryPlan, match) -> list[int]:
    """Product ids of the requested page in the requested order.

    By relevance, the best ``RERANK_WINDOW`` by the backend's score are ordered by
    :func:`shop.search.scoring.bm25` and re-ranked (:func:`_reranked`); later pages follow
    the backend's order. Without a typed query: newest first, or by price.
    """
    offset = (params.page - 1) * params.per_page
    if params.sort == "relevance" and match is not None and not params.filtered:
        # The index holds only active products: without filters, no join to products
        # (PostgreSQL would otherwise plan a scan of every document for it).
        ordered = select(match.c.product_id).order_by(match.c.score.desc(), match.c.product_id)
    else:
        ordered = _order(stmt, params.sort, match.c.score if match is not None else None)
    if params.sort != "relevance" or match is None or offset >= RERANK_WINDOW:
        return list(db.session.scalars(ordered.limit(params.per_page).offset(offset)))
    window = list(db.session.scalars(ordered.limit(RERANK_WINDOW)))
    ranked = _reranked(plan, window)
    end = offset + params.per_page
    if end > len(window) == RERANK_WINDOW:
        ranked += list(db.session.scalars(ordered.limit(end - len(window)).offset(len(window))))
    return ranked[offset:end]


def query_leaf(plan: QueryPlan) -> str | None:
    """Slug of the category the query names, read with the importer's category rules as
    if the query were a product title (:meth:`shop.catalog.categorize.Categorizer.head_leaf`:
    "notebook" names Laptops, "notebook case" Bags & cases); the corrected query when a
    typo was corrected. None when the rules find none."""
    if plan.empty:
        return None
    return load_categorizer().head_leaf(plan.did_you_mean or plan.raw)


def _joined(match) -> Select:
    """Ids of the active products in a match subquery."""
    return select(Product.id).join(match, match.c.product_id == Product.id).where(Product.status == "active")


def _reranked(plan: QueryPlan, window: list[int]) -> list[int]:
    """The window's ids ordered by BM25 (:func:`shop.search.scoring.bm25`, the same on every
    backend), re-ranked with the product fields (:func:`shop.search.scoring.rerank`) and fused
    with the field-wise ranker (:func:`shop.search.scoring.dismax`, :func:`shop.search.scoring.fuse`)."""
    if not window:
        return []
    docs = _docs(window)
    backend = get_backend(db.session)
    freq = stats.phrase_doc_freq(backend, [a for g in plan.groups for a in g.alternatives])
    text = bm25(plan, docs, freq, stats.active_count(), stats.mean_length())
    by_text = sorted(window, key=lambda pid: -text.get(pid, 0.0))
    reranked = rerank(plan, docs, [{pid: i for i, pid in enumerate(by_text)}], query_leaf(plan))
    words = query_words(plan)
    by_field = dismax(
        words, docs, stats.word_doc_freq(backend, words), stats.active_count(), stats.field_means()
    )
    fused = fuse([reranked, sorted(by_field, key=lambda pid: -by_field[pid])])
    # Products matching more of the query's groups stay ahead (as the page promises).
    return sorted(fused, key=lambda pid: -(text.get(pid, 0.0) // COVERAGE))


def search(params: SearchParams, with_facets: bool = True) -> SearchResult:
    """Run a search.

    A typed query's matches are read twice: grouped for the facets and the total
    (:func:`shop.search.facets.tally`), and ordered for the page.

    Args:
        params: query text, filters, sort and page (validated here).
        with_facets: compute facet counts (the eval and the bench may skip them).
    Returns:
        A :class:`SearchResult`; an empty query lists all active products (filtered).
    Raises:
        ValidationFailed: unknown sort or price band, bad paging.
    """
    params.validate()
    backend = get_backend(db.session)
    plan = analyze(params.q, backend, current_app.config.get("SEARCH_MAX_QUERY_LENGTH", 200))
    relaxed = False
    required_words: list[str] = []
    full_matches = 0
    match = None
    base = select(Product.id).where(Product.status == "active")
    if not plan.empty:
        # Every group must match; when fewer than RELAX_BELOW products do, the groups
        # that narrow the least are let go one by one (``relaxed``), and the products
        # matching every group still come first. The tally of the matches (facets and
        # total) tells how many there are.
        plan = plan.relaxed()
        match = backend.match(plan)
        tally = facet_mod.tally(match)
        full_matches = sum(r[-1] for r in tally)
        if len(plan.groups) > 1 and full_matches < RELAX_BELOW:
            relaxed = True
            for required in _relaxations(plan, backend):
                required_words = [g.corrected or g.text for g in required.groups]
                match = backend.match(plan, required)
                tally = facet_mod.tally(match)
                if sum(r[-1] for r in tally) >= RELAX_BELOW:
                    break
        base = _joined(match)
    else:
        tally = facet_mod.tally()
    total = facet_mod.total(tally, params)
    ids = _page_ids(_filtered(base, params), params, plan, match) if total else []
    products = _load(ids)
    facets = facet_mod.compute(tally, params) if with_facets else {}
    result = SearchResult(
        products,
        total,
        params.page,
        params.per_page,
        facets,
        plan,
        relaxed,
        plan.did_you_mean,
        required_words=required_words,
        full_matches=full_matches if relaxed else 0,
    )
    if total == 0 and not plan.empty:
        result.closest_categories = facet_mod.closest_categories(plan)
    return result


def _relaxations(plan: QueryPlan, backend) -> list[QueryPlan]:
    """Ever smaller sets of required groups for a query too few products fully match:
    first without the groups nothing matches, then without the one most products
    match (it narrows the least), down to one group. Group sizes are the backend's
    document counts (:func:`shop.search.stats.phrase_doc_freq`, cached).

    Returns:
        Plans of ``len(plan.groups) - 1`` down to 1 groups, in typed order.
    """
    freq = stats.phrase_doc_freq(backend, [a for g in plan.groups for a in g.alternatives])
    size = [max((freq.get(a, 0) for a in g.alternatives), default=0) for g in plan.groups]
    # Dropped first: groups matching nothing, then the largest.
    drop_order = sorted(range(len(plan.groups)), key=lambda i: (size[i] > 0, -size[i]))
    plans = []
    for n in range(1, len(plan.groups)):
        kept = sorted(drop_order[n:])
        plans.append(QueryPlan(plan.raw, [plan.groups[i] for i in kept], plan.did_you_mean))
    return plans


def _load(ids: list[int]) -> list[Product]:
    """Products with their categories loaded, in the order of ``ids`` (their attributes and
    descriptions, which result lists do not show, are left unread until asked for)."""
    if not ids:
        return []
    rows = db.session.scalars(
        select(Product)
        .where(Product.id.in_(ids))
        .options(
            defer(Product.attributes),
            defer(Product.description),
            joinedload(Product.category).joinedload(Category.parent),
        )
    ).all()
    by_id = {p.id: p for p in rows}
    return [by_id[i] for i in ids if i in by_id]


def ranked_skus(q: str, limit: int = 10) -> list[str]:
    """SKUs of the ``limit`` best results for ``q`` with no filters (evaluation)."""
    result = search(SearchParams(q=q, per_page=limit), with_facets=False)
    return [p.sku for p in result.products]
