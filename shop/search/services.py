"""Product search: the one service behind the results page, the JSON API and the eval.

``search(params)`` runs the pipeline, one module a step:

1. analyse the query (:mod:`shop.search.query`); a word naming a kind that the titles
   of its category do not use also searches the catalog's word for it
   (:func:`shop.search.kinds.expand_plan`: "laptop" also finds "notebook");
2. find the matching active products with the backend of the database dialect, relaxing
   a query too few products fully match (:mod:`shop.search.relax`);
3. count them for the total and the facets (:mod:`shop.search.facets`);
4. apply the shopper's filters (:mod:`shop.search.filters`);
5. order the page: by relevance (the backend's score chooses the re-rank window,
   :mod:`shop.search.ranking`), price or newness (:mod:`shop.search.paging`).
"""

from __future__ import annotations

import hashlib
from dataclasses import astuple, dataclass, field

from flask import current_app

from shop.cache import ANY_STOCK, Stamped, cached_catalog, stock_stamps
from shop.extensions import db
from shop.search import facets
from shop.search.backends import get_backend
from shop.search.cards import ProductCard, load_products
from shop.search.filters import apply_filters, listed
from shop.search.kinds import expand_plan, kind_vocabulary
from shop.search.paging import page_ids
from shop.search.params import SearchParams, analyzed_length
from shop.search.query import QueryPlan, analyze
from shop.search.relax import RELAX_BELOW, Matches, match_relaxed
from shop.search.stats import CachedVocabulary

#: Seconds a search's outcome stays in the result cache (a catalog change replaces it sooner).
RESULT_CACHE_TIMEOUT = 600


@dataclass
class SearchResult:
    """One page of results plus what the page needs around them."""

    products: list[ProductCard]
    total: int
    page: int
    per_page: int
    facets: dict
    plan: QueryPlan
    relaxed: bool = False
    did_you_mean: str | None = None
    #: True when the results are those of ``did_you_mean`` (a word the catalog does not
    #: know was corrected): the page says "Showing results for" it, not "Did you mean".
    corrected: bool = False
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


def search(params: SearchParams, with_facets: bool = True) -> SearchResult:
    """Run a search, or answer it from the result cache.

    A typed query's matches are read twice: grouped for the facets and the total
    (:func:`shop.search.facets.tally`), and ordered for the page. The outcome (product ids,
    total, facets, the analysed query) is cached under the catalog state: the index's own
    change counter (:func:`shop.search.index.state`, any write by any code path) and the
    catalog version (:func:`shop.cache.cached_catalog`). A repeated search (page 2, a facet
    click, a popular query) then reads only its page's products. Not cached: inside a
    transaction that has written (it may roll back), or with the app setting
    ``SEARCH_RESULT_CACHE`` false.

    Args:
        params: query text, filters, sort and page (validated here).
        with_facets: compute facet counts (the eval and the bench may skip them).
    Returns:
        A :class:`SearchResult`; an empty query lists all active products (filtered).
    Raises:
        ValidationFailed: unknown sort or price band, bad paging.
    """
    ids, fields, state = _outcome(params, with_facets)
    return SearchResult(load_products(ids, state), **fields)


def search_stamped(params: SearchParams) -> Stamped:
    """:func:`search` with facets, as a :class:`shop.cache.Stamped` value for a whole cached
    page (:func:`shop.cache.cached_entries`): the stock stamps of the page's products, read
    before their stock, and the stamp of any product's stock (:data:`shop.cache.ANY_STOCK`),
    read before the matches are counted, since the in-stock facet and filter count the
    stock of every match. The page is then rebuilt exactly when a category page showing
    the same products would be, or when any stock changed.

    Raises:
        ValidationFailed: as :func:`search`.
    """
    counted = stock_stamps([ANY_STOCK])
    ids, fields, state = _outcome(params, True)
    shown = stock_stamps(ids)
    result = SearchResult(load_products(ids, state), **fields)
    return Stamped(result, None if counted is None or shown is None else {**counted, **shown})


def _outcome(params: SearchParams, with_facets: bool) -> tuple[list[int], dict, int | None]:
    """The page's product ids and the other fields of its :class:`SearchResult`, from the
    result cache when it can be (see :func:`search`), and the index state they are of
    (:func:`shop.search.index.state`, None inside a transaction that has written)."""
    params.validate()
    backend = get_backend(db.session)
    state = backend.state()
    if state is None or not current_app.config.get("SEARCH_RESULT_CACHE", True):
        return *_search(params, with_facets, backend, state), state
    asked = repr((astuple(params), with_facets, analyzed_length()))
    key = ("search", backend.name, state, hashlib.sha256(asked.encode()).hexdigest()[:32])
    ids, fields = cached_catalog(
        key, lambda: _search(params, with_facets, backend, state), RESULT_CACHE_TIMEOUT
    )
    return ids, fields, state


def _search(params: SearchParams, with_facets: bool, backend, state: int | None) -> tuple[list[int], dict]:
    """:func:`search` without the cache: the page's product ids and the other fields of
    its :class:`SearchResult` (plain data, to be cached). ``state`` is the index's change
    counter as read before (:func:`shop.search.index.state`), or None."""
    plan = analyze(params.q, CachedVocabulary(backend), analyzed_length(), correct=not params.literal)
    if not plan.empty and not params.literal:
        plan = expand_plan(plan, kind_vocabulary())
    found: Matches | None = None
    if plan.empty:
        tally = facets.tally()
    else:
        found = _match(plan, backend)
        plan = found.plan
        tally = found.tally
    match = found.match if found else None
    total = facets.total(tally, params)
    ids = page_ids(apply_filters(listed(match), params), params, plan, match, state) if total else []
    fields = {
        "total": total,
        "page": params.page,
        "per_page": params.per_page,
        "facets": facets.compute(tally, params) if with_facets else {},
        "plan": plan,
        "did_you_mean": plan.did_you_mean,
        "corrected": bool(plan.did_you_mean) and not params.literal and total > 0,
    }
    if found and found.relaxed:
        fields.update(relaxed=True, required_words=found.required_words, full_matches=found.full_matches)
    if total == 0 and not plan.empty:
        fields["closest_categories"] = facets.closest_categories(plan)
    return ids, fields


def _match(plan: QueryPlan, backend) -> Matches:
    """The query's matches: two typed words the catalog writes as one ("mouse pad") match
    as the phrase or the joined word only, unless too few products have either
    (``RELAX_BELOW``); then each word is matched on its own (:meth:`QueryPlan.relaxed`),
    anywhere in the product. ``Matches.plan`` is the plan that matched."""
    if any(g.parts for g in plan.groups):
        whole = match_relaxed(plan, backend)
        if not whole.relaxed and sum(r[-1] for r in whole.tally) >= RELAX_BELOW:
            whole.plan = plan
            return whole
    split = plan.relaxed()
    found = match_relaxed(split, backend)
    found.plan = split
    return found


def ranked_skus(q: str, limit: int = 10) -> list[str]:
    """SKUs of the ``limit`` best results for ``q`` with no filters (evaluation)."""
    result = search(SearchParams(q=q, per_page=limit), with_facets=False)
    return [p.sku for p in result.products]
