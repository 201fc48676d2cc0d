"""Search quality against human ratings: NDCG@k.

NDCG@k (DESIGN.md "Search quality"): gain ``2^rating - 1``, discount ``log2(rank + 1)``,
unrated products count as 0, queries with no rating >= 1 are skipped, mean over queries.
Queries CSV: ``query_id,query``; labels CSV: ``query_id,product_id,rating`` (product_id
is the product SKU).

The same need is typed in more than one way ("sd card", "sdcard", "sd-card"; "laptop",
"laptops"). :func:`query_forms` writes each rated query in the other ways shoppers type
it, scored with the ratings of the query as rated: how much search quality depends on
the form of a query rather than on what is asked (``flask shop eval-search --forms``).
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


def _other_number(word: str) -> str:
    """The last word's other grammatical number, by the regular English rules (the
    irregular ones are left alone): "battery" <-> "batteries", "box" <-> "boxes",
    "cable" <-> "cables"; a number or a word under three letters as it is."""
    if len(word) < 3 or not word.isalpha():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    if word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("ch", "sh", "ss", "x")):
        return word + "es"
    return word + "s"


def _misspellings(word: str, m: int | None = None) -> dict[str, str]:
    """The word with one typing error at its letter ``m`` (by default its middle one), one
    of each kind that makes up most misspellings (Damerau, CACM 7(3), 1964): ``swapped``
    with the next letter, ``dropped``, ``doubled``. None for a word under five letters or
    not all letters; a form equal to the word (two equal letters swapped) is left out."""
    if len(word) < 5 or not word.isalpha():
        return {}
    m = len(word) // 2 if m is None else m
    forms = {
        "swapped": word[:m] + word[m + 1] + word[m] + word[m + 2 :],
        "dropped": word[:m] + word[m + 1 :],
        "doubled": word[: m + 1] + word[m:],
    }
    return {name: text for name, text in forms.items() if text != word}


def typo_forms(query: str) -> list[tuple[str, str]]:
    """The query with its longest word misspelt once (:func:`_misspellings`) at each of
    its letters but the first and the last: ``[(kind, text), ...]``, a wider sample of
    typing errors than the one at the middle letter of :func:`query_forms`."""
    words = query.lower().split()
    if not words:
        return []
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    return [
        (name, " ".join([*words[:longest], typo, *words[longest + 1 :]]))
        for m in range(1, len(word) - 1)
        for name, typo in _misspellings(word, m).items()
    ]


def query_forms(query: str) -> dict[str, str]:
    """The query as shoppers also type it: ``{"number": last word singular/plural,
    "joined": two words as one, "hyphenated": two words with a hyphen, "swapped",
    "dropped", "doubled": its longest word misspelt (:func:`_misspellings`)}`` (the
    two-word forms only for a query of two words); a form equal to the query is left out."""
    words = query.lower().split()
    if not words:
        return {}
    forms = {"number": " ".join([*words[:-1], _other_number(words[-1])])}
    if len(words) == 2:
        forms["joined"] = "".join(words)
        forms["hyphenated"] = "-".join(words)
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    for name, typo in _misspellings(words[longest]).items():
        forms[name] = " ".join([*words[:longest], typo, *words[longest + 1 :]])
    return {name: text for name, text in forms.items() if text != query.lower()}


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


def evaluate_forms(
    queries: dict[str, str],
    labels: dict[str, dict[str, int]],
    ranker: Callable[[str], list[str]],
    k: int = 10,
    forms: Callable[[str], list[tuple[str, str]]] | None = None,
) -> dict[str, tuple[int, float, float]]:
    """Per form: ``(forms scored, mean NDCG@k as rated, mean NDCG@k in that form)`` over
    the rated queries that have the form, each form scored with the ratings of its query.

    Args:
        forms: query -> ``[(form name, text), ...]``; by default :func:`query_forms`
            (:func:`typo_forms`: a query has several forms of one name, each counted).
    """
    forms = forms or (lambda q: list(query_forms(q).items()))
    sums: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for qid, query in queries.items():
        rated = labels.get(qid, {})
        if not any(r >= 1 for r in rated.values()):
            continue
        other = forms(query)
        if not other:
            continue
        typed = ndcg(ranker(query), rated, k) or 0.0
        for name, text in other:
            entry = sums[name]
            entry[0] += 1
            entry[1] += typed
            entry[2] += ndcg(ranker(text), rated, k) or 0.0
    return {name: (int(n), a / n, b / n) for name, (n, a, b) in sums.items()}
