"""Spelling correction of a query word the index does not know: which indexed word the
shopper meant.

A noisy-channel reading (M. D. Kernighan, K. W. Church, W. A. Gale, "A spelling
correction program based on a noisy channel model", COLING 1990): the intended word is
the candidate that is both likely to be typed as the word seen (the channel) and common
(the source). The candidates are the indexed words one edit away (two from eight
letters), by the optimal string alignment distance (:func:`correct_word`). Among them,
the errors that typing makes most often come first (:func:`typing_cost`): a letter left
out, two letters swapped, a key next to the intended one struck instead or as well, a
letter doubled. Then the more frequent word. Counting every edit alike, "tripd" read as
"tripp" (a frequent brand, d struck for p at the other end of the keyboard) rather than
"tripod" (an o left out), and "dvd payer" as "dvd paper".
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from rapidfuzz.distance import OSA


class Vocabulary(Protocol):
    """What correction asks of the indexed words: the part of
    :class:`shop.search.query.Vocabulary` it uses (a backend provides it)."""

    def near_words(self, word: str, limit: int = 50) -> list[tuple[str, int]]:
        """Indexed words that look like ``word``, with their document counts."""

    def phrase_freq(self, tokens: tuple[str, ...]) -> int:
        """Number of active products having the tokens as a phrase."""


#: The letter rows of a QWERTY keyboard, each row set a quarter to half a key further
#: right than the one above: a key touches two keys of each row next to its own.
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
#: The cost of an error the keyboard does not explain (a key struck far from the
#: intended one, a letter inserted far from its neighbours' keys); the common errors
#: cost 1 (:func:`typing_cost`). Between one error and two: it only orders the
#: candidates one edit away, a far error after a common one, and never makes one error
#: cost as much as two.
FAR_KEY_COST = 1.5


def _neighbours() -> dict[str, frozenset[str]]:
    """Each letter's touching keys on a QWERTY keyboard: the keys left and right of it,
    and the two touching it in the row above and in the row below (the row below is
    shifted right: "s" touches "w", "e" above and "z", "x" below)."""
    near: dict[str, set[str]] = {ch: set() for row in _ROWS for ch in row}
    for r, row in enumerate(_ROWS):
        for c, ch in enumerate(row):
            spots = [(r, c - 1), (r, c + 1), (r - 1, c), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c)]
            for rr, cc in spots:
                if 0 <= rr < len(_ROWS) and 0 <= cc < len(_ROWS[rr]):
                    near[ch].add(_ROWS[rr][cc])
    return {ch: frozenset(keys) for ch, keys in near.items()}


_NEAR = _neighbours()


def near_keys(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` are the same key or touching keys (letters only)."""
    return a == b or b in _NEAR.get(a, ())


def _insert_cost(typed: str, i: int) -> float:
    """Cost of ``typed[i]`` being a letter struck in excess: 1 when it doubles or touches
    the letter before or after it (a key hit twice, or a neighbouring key hit with it),
    else :data:`FAR_KEY_COST`."""
    ch = typed[i]
    for j in (i - 1, i + 1):
        if 0 <= j < len(typed) and near_keys(ch, typed[j]):
            return 1.0
    return FAR_KEY_COST


@lru_cache(maxsize=4096)
def typing_cost(typed: str, intended: str) -> float:
    """Weighted optimal string alignment distance from ``intended`` to ``typed``: the
    cheapest way to type ``intended`` and get ``typed`` by letters left out (1), two
    adjacent letters swapped (1), letters struck instead of others (1 for a touching key,
    :data:`FAR_KEY_COST` otherwise) and letters struck in excess (:func:`_insert_cost`).

    The costs follow what makes typing errors: most are single errors of these four
    kinds (F. J. Damerau, CACM 7(3), 1964), and a wrong or extra letter is most often a
    key touching the intended one (the confusion matrices of Kernighan, Church and Gale,
    COLING 1990). Words are compared as lower-case letters; O(len(typed) * len(intended)).
    """
    n, m = len(typed), len(intended)
    prev2: list[float] = []
    prev = [float(j) for j in range(m + 1)]  # typed[:0] from intended[:j]: j left out
    for i in range(1, n + 1):
        cur = [prev[0] + _insert_cost(typed, i - 1)] + [0.0] * m
        for j in range(1, m + 1):
            t, c = typed[i - 1], intended[j - 1]
            if t == c:
                best = prev[j - 1]
            else:
                best = prev[j - 1] + (1.0 if near_keys(t, c) else FAR_KEY_COST)
            best = min(best, cur[j - 1] + 1.0, prev[j] + _insert_cost(typed, i - 1))
            if i > 1 and j > 1 and t == intended[j - 2] and typed[i - 2] == c:
                best = min(best, prev2[j - 2] + 1.0)
            cur[j] = best
        prev2, prev = prev, cur
    return prev[m]


def correct_word(word: str, vocab: Vocabulary) -> str | None:
    """The indexed word the shopper most likely meant by an unknown ``word``, or None.

    The candidates are the vocabulary's near words (:meth:`Vocabulary.near_words`) one
    edit away, or two from eight letters, by the optimal string alignment distance (the
    restricted Damerau-Levenshtein distance: a deletion, an insertion, a substitution or
    two adjacent letters swapped count one edit each; plain Levenshtein counts a swap,
    "mosue", as two and left it uncorrected). The chosen one has the lowest
    :func:`typing_cost` (the commonest error), then the most documents.
    """
    best = _closest(word, vocab)
    return best[0] if best else None


def _closest(word: str, vocab: Vocabulary) -> tuple[str, int] | None:
    """:func:`correct_word`'s choice with its document count (from the near words), or
    None."""
    max_dist = 1 if len(word) < 8 else 2
    best: tuple[float, int, str] | None = None
    for cand, freq in vocab.near_words(word):
        if cand == word or abs(len(cand) - len(word)) > max_dist:
            continue
        if OSA.distance(word, cand, score_cutoff=max_dist) > max_dist:
            continue
        key = (typing_cost(word, cand), -freq, cand)
        if best is None or key < best:
            best = key
    return (best[2], -best[1]) if best else None


def correction(
    word: str, split: tuple[str, str] | None, vocab: Vocabulary
) -> tuple[str | None, tuple[str, str] | None]:
    """``(correction, split)`` of an unknown word of letters, at most one of them set.

    The correction is :func:`correct_word`'s, or that of the word's singular when it ends
    in "s" and has none. ``split``, the two indexed words the word joins, is one edit (a
    space left out) from what was meant: it wins over a correction two edits away
    ("cdplayer" is no "player"). One edit from both, the commoner typing error wins (a
    space left out costs 1, :func:`typing_cost`), then what more
    products have: "latpop" is laptop, not "lat pop"; "dbattery" is d battery, not
    battery with a d struck far from any key of it. Two words no product has together
    are not what was meant ("labtop" is laptop, though b is far from p: no product has
    "lab top").
    """
    best = _closest(word, vocab)
    if not best and word.endswith("s") and not word.endswith("ss"):
        # A misspelt plural of a word the titles write in the singular ("boks": the
        # index has "book", two edits away, and "bok" is one).
        best = _closest(word[:-1], vocab)
    if not best:
        return None, split
    fix, count = best
    if not split:
        return fix, None
    if OSA.distance(word, fix) > 1:
        return None, split
    apart = vocab.phrase_freq(split)
    if not apart:
        # No product has the two words together: "labtop" is no "lab top".
        return fix, None
    return (fix, None) if (typing_cost(word, fix), -count) < (1.0, -apart) else (None, split)
