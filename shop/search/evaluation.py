"""Search quality against human ratings: NDCG@k.

NDCG@k (DESIGN.md "Search quality"): gain ``2^rating - 1``, discount ``log2(rank + 1)``,
unrated products count as 0, queries with no rating >= 1 are skipped, mean over queries.
Queries CSV: ``query_id,query``; labels CSV: ``query_id,product_id,rating`` (product_id
is the product SKU).
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable


@dataclass
class QueryScore:
    """One query's NDCG and what the search returned for it."""

    query_id: str
    query: str
    ndcg: float
    returned: list[str]


def load_queries(path: str) -> dict[str, str]:
    """``query_id -> query`` from a CSV with columns query_id, query."""
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["query_id"]: row["query"] for row in csv.DictReader(fh)}


def load_labels(path: str) -> dict[str, dict[str, int]]:
    """``query_id -> {product_id: rating}`` from a CSV with query_id, product_id, rating."""
    labels: dict[str, dict[str, int]] = defaultdict(dict)
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            labels[row["query_id"]][row["product_id"]] = int(row["rating"])
    return labels


def dcg(ratings: list[int]) -> float:
    """Discounted cumulative gain of ratings in rank order."""
    return sum((2**r - 1) / math.log2(i + 2) for i, r in enumerate(ratings))


def ndcg(returned: list[str], ratings: dict[str, int], k: int = 10) -> float | None:
    """NDCG@k of one ranking; None when no product is rated >= 1 (query skipped)."""
    ideal = dcg(sorted(ratings.values(), reverse=True)[:k])
    if ideal <= 0:
        return None
    return dcg([ratings.get(pid, 0) for pid in returned[:k]]) / ideal


def evaluate(
    queries: dict[str, str],
    labels: dict[str, dict[str, int]],
    ranker: Callable[[str], list[str]],
    k: int = 10,
) -> tuple[float, list[QueryScore]]:
    """Mean NDCG@k of ``ranker`` (query text -> ranked product ids) over the rated queries.

    Returns:
        ``(mean, per-query scores)``; skipped queries are not in the list.
    """
    scores = []
    for qid, query in queries.items():
        rated = labels.get(qid, {})
        if not any(r >= 1 for r in rated.values()):
            continue
        returned = ranker(query)
        value = ndcg(returned, rated, k)
        if value is not None:
            scores.append(QueryScore(qid, query, value, returned))
    mean = sum(s.ndcg for s in scores) / len(scores) if scores else 0.0
    return mean, scores
