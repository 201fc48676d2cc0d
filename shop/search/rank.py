"""Re-ranking of the top matches, the same for every backend.

The backend's text score (BM25 or ts_rank) is fused with how completely the product's
fields cover the query (any field, and title and model alone), how much of the product's
own category the query names, and whether the query appears as a phrase in the title. Each signal is a rank or a fraction
in [0, 1]; the fusion is a weighted sum with the few weights below.
"""

from __future__ import annotations

from dataclasses import dataclass

from shop.search.query import Alternative, QueryPlan, stem, tokenize

#: Reciprocal-rank constant for the backend's text ranking (as in RRF).
RRF_K = 10
#: Weights of the signals (the text rank contributes at most 1).
W_TEXT = 1.0
W_COVER = 1.0
W_TITLE = 1.0
W_CATEGORY = 0.5
W_PHRASE = 0.5


@dataclass
class Doc:
    """The fields of one candidate product used for re-ranking."""

    product_id: int
    title: str
    model: str
    brand: str
    category: str
    kind: str
    leaf: str = ""


class _Field(list):
    """(token, stem) pairs of a field, plus both as a set for one-word lookups."""

    def __init__(self, text: str):
        super().__init__((t, stem(t)) for t in tokenize(text))
        self.words = {w for pair in self for w in pair}


def _field(text: str) -> _Field:
    """The field's tokens for matching."""
    return _Field(text)


def _matches(alt: Alternative, field: _Field) -> bool:
    """True if the alternative's tokens occur adjacent and in order in the field."""
    n = len(alt.tokens)
    if n == 0 or n > len(field):
        return False
    if n == 1 and not alt.prefix:
        return alt.tokens[0] in field.words or alt.stems[0] in field.words
    wanted = list(zip(alt.tokens, alt.stems))
    last = n - 1
    for start in range(len(field) - n + 1):
        ok = True
        for i, (tok, st) in enumerate(wanted):
            ftok, fstem = field[start + i]
            if alt.prefix and i == last:
                ok = ftok.startswith(tok)
            else:
                ok = ftok == tok or fstem == st
            if not ok:
                break
        if ok:
            return True
    return False


def _group_hits(plan: QueryPlan, field: list[tuple[str, str]]) -> list[bool]:
    """Per group: does any alternative occur in the field?"""
    return [any(_matches(a, field) for a in g.alternatives) for g in plan.groups]


def rerank(plan: QueryPlan, docs: list[Doc], ranks: list[dict[int, int]]) -> list[int]:
    """Product ids of ``docs`` in re-ranked order.

    Args:
        ranks: per backend ranker, product id -> 0-based rank (absent: not in its top).
    """
    n_groups = max(1, len(plan.groups))
    typed = {w for g in plan.groups for a in g.alternatives for t in a.tokens for w in (t, stem(t))}
    scored = []
    for order, d in enumerate(docs):
        text_rank = sum((RRF_K + 1) / (RRF_K + 1 + r[d.product_id]) for r in ranks if d.product_id in r)
        title = _field(d.title + " " + d.model)
        meta = _field(" ".join((d.brand, d.kind)))
        in_title = _group_hits(plan, title)
        in_meta = _group_hits(plan, meta)
        in_cat = _group_hits(plan, _field(d.category))
        cover = sum(a or b or c for a, b, c in zip(in_title, in_meta, in_cat)) / n_groups
        title_cover = sum(in_title) / n_groups
        # How much of the product's own (leaf) category the query names: "laptop" names
        # all of "Laptops" but a third of "Laptop parts & docks".
        leaf = _field(d.leaf)
        cat_cover = sum(1 for pair in leaf if set(pair) & typed) / len(leaf) if leaf else 0.0
        phrase = 0.0
        if len(plan.groups) > 1:
            whole = Alternative(tuple(t for g in plan.groups for t in g.alternatives[0].tokens))
            phrase = 1.0 if _matches(whole, title) else 0.0
        score = (W_TEXT * text_rank + W_COVER * cover
                 + W_TITLE * title_cover + W_CATEGORY * cat_cover + W_PHRASE * phrase)
        scored.append((-score, order, d.product_id))
    scored.sort()
    return [pid for _, _, pid in scored]
