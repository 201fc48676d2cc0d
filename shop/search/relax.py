"""Matching a typed query, relaxed when too few products match all of it.

Every group of the query must match. When fewer than ``RELAX_BELOW`` products match every
group, the groups that narrow the least are let go one by one until enough products match
the groups still required (or one group is left); the products matching every group
still come first (the backends' ``match`` scores them higher).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import FromClause

from shop.search import facets, stats
from shop.search.backends import SearchBackend
from shop.search.fieldwise import query_words
from shop.search.kinds import FUNCTION_WORDS, head_key, kind_words, names_kind, query_head
from shop.search.params import PAGE_SIZE
from shop.search.query import QueryPlan

#: With fewer products matching every group than this (a page of results), the query is
#: relaxed.
RELAX_BELOW = PAGE_SIZE


@dataclass
class Matches:
    """The products a query matched, and what relaxing it let go.

    ``match`` is the backend's subquery (``product_id, score, ...``) and ``tally`` its
    :func:`shop.search.facets.tally`. When ``relaxed``: ``required_words`` are the words
    every listed product has, and ``full_matches`` how many products have every word.
    """

    match: FromClause
    tally: list[tuple]
    relaxed: bool = False
    required_words: list[str] = field(default_factory=list)
    full_matches: int = 0
    #: The plan that matched (set by :func:`shop.search.services.search`).
    plan: QueryPlan | None = None


def _size(tally: list[tuple]) -> int:
    """Number of products a tally counts."""
    return sum(r[-1] for r in tally)


def match_relaxed(plan: QueryPlan, backend: SearchBackend) -> Matches:
    """The products matching every group of ``plan`` or, when fewer than ``RELAX_BELOW``
    do, those matching the groups kept by the first of :func:`relaxations` that finds
    enough (else the last, one group).

    Args:
        plan: a non-empty query plan (joined pairs already split: ``QueryPlan.relaxed``).
        backend: the database's search backend.
    """
    match = backend.match(plan)
    tally = facets.tally(backend.match(plan, scored=False))
    full_matches = _size(tally)
    if len(plan.groups) < 2 or full_matches >= RELAX_BELOW:
        return Matches(match, tally)
    found = Matches(match, tally, relaxed=True, full_matches=full_matches)
    for required in relaxations(plan, backend):
        found.required_words = [g.corrected or g.text for g in required.groups]
        found.match = backend.match(plan, required)
        found.tally = facets.tally(backend.match(plan, required, scored=False))
        if _size(found.tally) >= RELAX_BELOW:
            break
    return found


def relaxations(plan: QueryPlan, backend: SearchBackend) -> list[QueryPlan]:
    """Ever smaller sets of required groups for a query too few products fully match:
    first without the groups nothing matches, then without its function words ("for",
    "with", "the": they join the words that say what is asked, and narrow nothing; the
    stop words of information retrieval, e.g. Manning, Raghavan and Schütze,
    *Introduction to Information Retrieval*, 2008, §2.2.2), then without the one most
    products match (it narrows the least), down to one group; the group of the query's
    head word, the one naming the kind of product asked for (:func:`head_group`), is let
    go last. Group sizes are the backend's document counts
    (:func:`shop.search.stats.phrase_doc_freq`, cached).

    The head is kept because it says what the shopper wants, and the other words only
    which one ("mechanical keyboard": a keyboard that is not mechanical answers the query
    in part, a mechanical monitor arm not at all): the same reason a query's kind ranks
    its products above products *for* it (:mod:`shop.search.kinds`).

    Returns:
        Plans of ``len(plan.groups) - 1`` down to 1 groups, in typed order.
    """
    freq = stats.phrase_doc_freq(backend, [a for g in plan.groups for a in g.alternatives])
    size = [max((freq.get(a, 0) for a in g.alternatives), default=0) for g in plan.groups]
    head = head_group(plan)
    joins = [g.text in FUNCTION_WORDS for g in plan.groups]
    # Dropped first: groups matching nothing, then function words, then the largest but
    # the head.
    drop_order = sorted(
        range(len(plan.groups)), key=lambda i: (size[i] > 0, not joins[i], i == head, -size[i])
    )
    plans = []
    for n in range(1, len(plan.groups)):
        kept = sorted(drop_order[n:])
        plans.append(QueryPlan(plan.raw, [plan.groups[i] for i in kept], plan.did_you_mean))
    return plans


def head_group(plan: QueryPlan) -> int | None:
    """Index of the group of the query's head word (:func:`shop.search.kinds.query_head`:
    its last word of letters) when that word names a kind of product in the catalog
    (:func:`shop.search.kinds.names_kind`: "keyboard", not the "pro" of "surface pro");
    None when it does not, or no group is that word alone."""
    head = query_head(query_words(plan))
    if head is None or not names_kind(head, kind_words()):
        return None
    for i in range(len(plan.groups) - 1, -1, -1):
        g = plan.groups[i]
        if head_key(g.corrected or g.text) == head:
            return i
    return None
