"""Query analysis shared by both backends: model numbers, compounds, sizes, typos.

A query becomes a :class:`QueryPlan`: a list of :class:`Group` (one per concept the
shopper typed). A group matches a product when any of its alternatives does; an
alternative is a phrase of one or more tokens (adjacent, in order), the last optionally
a prefix. Tokens follow the index tokenizer (:mod:`shop.search.tokens`: Unicode letters
and digits; everything else separates), so "dv7-1211ea" is the phrase ``dv7 1211ea`` or
the joined token ``dv71211ea`` that the index also holds for model numbers.

Corrections consult the index vocabulary through a backend (:class:`Vocabulary`):
unknown words get the known word the shopper most likely meant
(:func:`shop.search.spelling.correct_word`: one edit away, the commonest typing error
first, then the more frequent word), two words that the catalog writes as one
are joined ("head set" → "headset"), and one word that the catalog writes as two is split
("smartwatch" → "smart watch"), as is a name glued to a number ("usb3" → "usb 3");
an unknown or hyphenated one ("gpswatch", "sd-card", "ps4pro"), or a known one that more
products write apart than whole ("mousepad"), is also matched as its words apart when
too few products have it whole (:meth:`QueryPlan.relaxed`), and the rankers read it as
those words (:attr:`QueryPlan.reading`). A size in
inches matches however it is typed or written ("32 inch", '32"', Icecat's
'81.3 cm (32")'), and a number glued to its unit ("64gb") also matches it apart.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from shop.catalog.categorize import _UNITS
from shop.search.spelling import correction
from shop.search.tokens import is_model_like, stem, tokenize

#: Shortest word that is spell-corrected or split; shorter words are taken as typed.
MIN_CORRECT_LEN = 4
MAX_GROUPS = 8
#: Words for an inch after a number ("32 inch", "32in"); a typed inch mark ('32"') reads
#: as "inch" too (:func:`_split_words`).
INCH_WORDS = frozenset({"inch", "inches", "in"})
_INCH_MARKS = ('"', "\u201d", "\u2033", "''")
#: A number glued to its unit ("64gb", "1tb"): titles write it glued or apart.
_MEASURE = re.compile(r"(\d+)([a-z]+)")
#: Characters of a query that analysis reads (the rest is ignored); the app setting
#: ``SEARCH_MAX_QUERY_LENGTH`` may change it (:func:`shop.search.params.analyzed_length`).
ANALYZED_LENGTH = 200


@dataclass(frozen=True)
class Alternative:
    """A phrase of tokens (adjacent, in order); ``prefix``: the last token is a prefix."""

    tokens: tuple[str, ...]
    prefix: bool = False

    @cached_property
    def stems(self) -> tuple[str, ...]:
        """The tokens stemmed (prefix tokens are kept as typed; computed once: the
        re-rankers ask for them per product)."""
        last = len(self.tokens) - 1
        return tuple(t if (self.prefix and i == last) else stem(t) for i, t in enumerate(self.tokens))


@dataclass
class Group:
    """One concept of the query; ``text`` is what the shopper typed for it."""

    text: str
    alternatives: list[Alternative] = field(default_factory=list)
    corrected: str | None = None  # set when a typo correction replaced the typed word
    parts: list[Group] = field(default_factory=list)  # the typed words of a joined pair
    #: Tokens to highlight in results instead of every alternative's (a size in inches
    #: marks its number and "inch", not the "cm" and "in" of the forms it also matches).
    marks: tuple[str, ...] = ()

    def add(self, alt: Alternative) -> None:
        """Add an alternative once."""
        if alt not in self.alternatives:
            self.alternatives.append(alt)

    @property
    def taken_apart(self) -> bool:
        """True for one typed word that the plan takes apart into ``parts`` ("laptopcase",
        "mousepad"); a pair typed apart or a hyphenated word has a space in its text."""
        return bool(self.parts) and " " not in self.text


@dataclass
class QueryPlan:
    """The analysed query: groups in typed order, plus a corrected query text if any."""

    raw: str
    groups: list[Group]
    did_you_mean: str | None = None
    #: The reading of the plan it was made from (:meth:`relaxed`), if not its own.
    read_as: str | None = None

    @property
    def reading(self) -> str:
        """The query as the rankers read its words: as typed, or as corrected
        (``did_you_mean``); a word typed as one that the catalog writes as two
        (:attr:`Group.taken_apart`: "laptopcase", unknown; "mousepad", written apart more
        often than whole) is read as those two words ("laptop case"), as if typed apart.
        The kind a query asks for, the category it names and the field-wise ranker's words
        then come from the words the shopper meant: read as one word, the query names no
        kind and no category, and few fields hold it."""
        if self.read_as is not None:
            return self.read_as
        if not any(g.taken_apart for g in self.groups):
            return self.did_you_mean or self.raw
        return " ".join(
            " ".join(p.text for p in g.parts) if g.taken_apart else (g.corrected or g.text)
            for g in self.groups
        )

    def relaxed(self) -> QueryPlan:
        """The plan with each group that has ``parts`` split into them: a joined pair
        ("mouse pad"), a hyphenated word ("sd-card") or an unknown word the index writes
        as two ("sdcard"). Each part also accepts the group's one-token alternatives (the
        joined form, a correction), so it is matched wherever the product has it."""
        groups: list[Group] = []
        for g in self.groups:
            if not g.parts:
                groups.append(g)
                continue
            for part in g.parts:
                split = Group(part.text, list(part.alternatives), part.corrected)
                for alt in g.alternatives:
                    if len(alt.tokens) == 1:
                        split.add(alt)
                groups.append(split)
        return QueryPlan(self.raw, groups, self.did_you_mean, self.reading)

    @property
    def empty(self) -> bool:
        """True when nothing searchable was typed."""
        return not self.groups

    @property
    def tokens(self) -> list[str]:
        """Every token of every alternative, or a group's ``marks`` (for highlighting)."""
        return sorted(
            {t for g in self.groups for t in (g.marks or (t for a in g.alternatives for t in a.tokens))}
        )


class Vocabulary(Protocol):
    """What query analysis needs to know about the indexed words (backends provide it)."""

    def doc_freq(self, words: list[str]) -> dict[str, int]:
        """Number of indexed products containing each (unstemmed) word; 0 if none."""

    def stem_hits(self, word: str) -> bool:
        """True if the word matches the stemmed index (e.g. a plural of an indexed word)."""

    def near_words(self, word: str, limit: int = 50) -> list[tuple[str, int]]:
        """Indexed words that look like ``word`` (candidates for correction), with doc counts."""

    def phrase_freq(self, tokens: tuple[str, ...]) -> int:
        """Number of active products having the tokens as a phrase (stemmed, any field)."""


#: Units a measure is also written in, by the factor between them: Icecat writes a
#: storage size of a terabyte or more in gigabytes as often as in terabytes ("1000 GB",
#: "1 TB"), with the decimal prefixes of SI (1 TB = 1000 GB).
_SMALLER_UNITS = {"tb": ("gb", 1000)}


def _same_measure(number: str, unit: str) -> list[Alternative]:
    """The alternatives for a measure typed as ``number`` + ``unit`` ("1", "tb") in the
    smaller unit titles also use (:data:`_SMALLER_UNITS`): apart and glued, "1000 gb"
    and "1000gb"."""
    if unit not in _SMALLER_UNITS:
        return []
    smaller, factor = _SMALLER_UNITS[unit]
    n = str(int(number) * factor)
    return [Alternative((n, smaller)), Alternative((n + smaller,))]


def _split_words(raw: str) -> list[list[str]]:
    """Whitespace-separated words of the query, each as its list of tokens; a number
    followed by an inch mark ('32"') gains the token "inch", which the mark stands for."""
    words = []
    for chunk in raw.split():
        toks = tokenize(chunk)
        if toks and toks[-1].isdigit() and chunk.rstrip(",.;:)").endswith(_INCH_MARKS):
            toks.append("inch")
        if toks:
            words.append(toks)
    return words[:MAX_GROUPS]


def _inch_size(toks: list[str]) -> list[str] | None:
    """The number tokens of a size in inches typed as one word ("32in", "15.6-inch",
    '32"' once read by :func:`_split_words`), else None."""
    if len(toks) == 1:
        m = _MEASURE.fullmatch(toks[0])
        return [m.group(1)] if m and m.group(2) in INCH_WORDS else None
    *number, unit = toks
    if unit in INCH_WORDS and 1 <= len(number) <= 2 and all(t.isdigit() for t in number):
        return number
    return None


def _inch_group(number: list[str]) -> Group:
    """A size in inches, however typed, matched as titles write it: "32 inch", "32 in",
    "32in", and Icecat's '81.3 cm (32")', whose tokens are "cm 32" (the tokenizer drops
    the inch mark). ``number`` is ["32"], or ["15", "6"] for 15.6."""
    g = Group(f"{'.'.join(number)} inch", marks=(*number, "inch", "inches"))
    for unit in ("inch", "in"):
        g.add(Alternative((*number, unit)))
    g.add(Alternative((*number[:-1], number[-1] + "in")))
    g.add(Alternative(("cm", *number)))
    return g


def _compound_cuts(word: str, shortest: int = 3) -> list[tuple[str, str]]:
    """The ways to cut ``word`` into two words of ``shortest``+ letters (none for a word
    under 6 letters or not all letters)."""
    if len(word) < 6 or not word.isalpha():
        return []
    return [(word[:i], word[i:]) for i in range(shortest, len(word) - shortest + 1)]


def _boundary_cuts(word: str) -> list[tuple[str, str]]:
    """The ways to cut a word mixing letters and digits where a run of letters meets a
    run of digits ("playstation4" -> playstation|4; "ps4pro" -> ps|4pro, ps4|pro): a
    name and a number that titles write apart, typed as one. A piece of one letter is no
    word ("tn2110x" is not cut). None for a word of letters only or of digits only."""
    if not is_model_like(word):
        return []
    cuts = [(word[:i], word[i:]) for i in range(1, len(word)) if word[i - 1].isdigit() != word[i].isdigit()]
    return [cut for cut in cuts if not any(p.isalpha() and len(p) < 2 for p in cut)]


def _split_compound(
    word: str, freq: dict[str, int], vocab: Vocabulary, shortest: int = 3
) -> tuple[str, str] | None:
    """Split ``word`` into two indexed words, the most frequent pair (the pieces' counts
    from ``freq``, asked of ``vocab`` for those it lacks): a word of letters into words
    of ``shortest``+ letters (:func:`_compound_cuts`), a word mixing letters and digits
    where its letters meet its digits (:func:`_boundary_cuts`)."""
    cuts = _compound_cuts(word, shortest) or _boundary_cuts(word)
    if not cuts:
        return None
    missing = sorted({p for cut in cuts for p in cut} - freq.keys())
    counts = {**freq, **vocab.doc_freq(missing)} if missing else freq
    # A number or a letter is searched as typed: the vocabulary need not hold it
    # (PostgreSQL's keeps no word of one character).
    scored = [
        (min(math.inf if p.isdigit() or len(p) == 1 else counts.get(p, 0) for p in (a, b)), a, b)
        for a, b in cuts
    ]
    best = max(scored, default=(0, "", ""))
    return (best[1], best[2]) if best[0] > 0 else None


def _joined_group(first: str, second: str) -> Group:
    """Two typed words that the catalog writes as one ("head set" -> "headset"): the pair
    as a phrase or joined; ``parts`` keeps each word for a relaxed match."""
    g = Group(
        f"{first} {second}",
        parts=[Group(first, [Alternative((first,))]), Group(second, [Alternative((second,))])],
    )
    g.add(Alternative((first, second)))
    g.add(Alternative((first + second,)))
    return g


def _token_group(toks: list[str], freq: dict[str, int]) -> Group:
    """A typed word of several tokens (a model number or hyphenated word): the phrase, the
    tokens joined, and the phrase as a prefix when it ends in digits. A hyphenated word
    ending in letters keeps its words as ``parts`` ("sd-card", "ps4-pro", "d-battery"): when too
    few products have the phrase or the joined word, each word is matched on its own, as
    if typed apart (:meth:`QueryPlan.relaxed`). A word with a one-letter piece is taken
    apart only when the index knows its other pieces and not the word joined (``freq``,
    document counts): "x-box" is the catalog's "xbox", and x and box apart are any box;
    with no "shirt" in the catalog, "t-shirt" apart is the letter t. A model number
    ending in digits ("tn-2110", "dv7-1211ea") is never taken apart."""
    g = Group(" ".join(toks))
    joined = "".join(toks)
    g.add(Alternative(tuple(toks)))
    g.add(Alternative((joined,)))
    if any(c.isdigit() for c in toks[-1]):
        g.add(Alternative(tuple(toks), prefix=True))
    elif toks[-1].isalpha() and max(map(len, toks)) > 1:
        if min(map(len, toks)) > 1 or (
            not freq.get(joined, 0) and all(freq.get(t, 0) for t in toks if len(t) > 1)
        ):
            g.parts = [Group(t, [Alternative((t,))]) for t in toks]
    return g


def _word_group(word: str, freq: dict[str, int], vocab: Vocabulary, correct: bool = True) -> Group:
    """A typed word of one token: as typed, as a prefix if it looks like a part number,
    corrected if the index does not know it (with ``correct`` False the correction is only
    noted in ``corrected``, not searched), and split if the catalog writes it as two."""
    g = Group(word)
    g.add(Alternative((word,)))
    measure = _MEASURE.fullmatch(word)
    if measure and measure.group(2) in _UNITS:
        # "64gb" as titles also write it: "64 GB".
        g.add(Alternative(measure.groups()))
        for alt in _same_measure(*measure.groups()):
            g.add(alt)
    elif is_model_like(word) and len(word) >= 4:
        g.add(Alternative((word,), prefix=True))
    known = freq.get(word, 0) > 0 or vocab.stem_hits(word)
    split = None
    if (word.isalpha() and len(word) >= 6) or (is_model_like(word) and not measure):
        # A word the index does not know may join a short word ("sdcard", "cdplayer",
        # a letter: "dbattery"), or a name and a number ("playstation4", "ps4pro"). A
        # word it knows is also searched as the phrase ("usb3": "USB 3.0"), never taken
        # apart.
        split = _split_compound(word, freq, vocab, 3 if known else 1)
    if not known and len(word) >= MIN_CORRECT_LEN and word.isalpha():
        fix, split = correction(word, split, vocab)
        if fix:
            if correct:
                g.add(Alternative((fix,)))
            g.corrected = fix
    if split:
        g.add(Alternative(split))
        if not known or (word.isalpha() and _written_apart(word, split, vocab)):
            # Typed as one, written apart: each word on its own when too few
            # products have the phrase (:meth:`QueryPlan.relaxed`), as "sd-card".
            # (A word the catalog writes as one is not taken apart: "playstation" is no
            # play station.)
            g.parts = [Group(piece, [Alternative((piece,))]) for piece in split]
    return g


def _written_apart(word: str, split: tuple[str, str], vocab: Vocabulary) -> bool:
    """True when more products have the two words of ``split`` as a phrase than have
    ``word``, which joins them ("mouse pad" against "mousepad"): the catalog writes the
    word apart, and the shopper's one word is a spelling of those two. A word the
    catalog writes as one ("playstation", "notebook": their phrases are in next to no
    product) stays one."""
    return vocab.phrase_freq(split) > vocab.phrase_freq((word,))


def analyze(
    raw: str, vocab: Vocabulary, max_length: int = ANALYZED_LENGTH, correct: bool = True
) -> QueryPlan:
    """Turn the shopper's text into a :class:`QueryPlan` (never raises on odd input).

    Args:
        raw: what the shopper typed; only its first ``max_length`` characters are read.
        vocab: the index vocabulary (a backend), for corrections, joins and splits.
        correct: search the corrections of unknown words (False: the words as typed; the
            corrected query is still offered in ``did_you_mean``).
    """
    raw = (raw or "")[:max_length]
    words = _split_words(raw)
    singles = sorted({t for toks in words for t in toks})
    joined_pairs = [a[0] + b[0] for a, b in zip(words, words[1:]) if len(a) == 1 and len(b) == 1]
    # A hyphenated word joined ("x-box": xbox), as :func:`_token_group` asks.
    joined_pairs += ["".join(toks) for toks in words if len(toks) > 1 and "".join(toks).isalpha()]
    # The pieces a long word may split into are counted in the same lookup.
    pieces = {
        p
        for toks in words
        if len(toks) == 1
        for cut in _compound_cuts(toks[0], 1) + _boundary_cuts(toks[0])
        for p in cut
    }
    freq = vocab.doc_freq(sorted(set(singles) | set(joined_pairs) | pieces)) if words else {}
    groups: list[Group] = []
    i = 0
    while i < len(words):
        toks = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        # "32 inch" ("in" apart is too often "7 in 1").
        if nxt in (["inch"], ["inches"]) and len(toks) <= 2 and all(t.isdigit() for t in toks):
            groups.append(_inch_group(toks))
            i += 2
            continue
        size = _inch_size(toks)
        if size:
            groups.append(_inch_group(size))
            i += 1
            continue
        if nxt and len(toks) == 1 and len(nxt) == 1 and freq.get(toks[0] + nxt[0], 0) > 0:
            groups.append(_joined_group(toks[0], nxt[0]))
            i += 2
            continue
        groups.append(
            _token_group(toks, freq) if len(toks) > 1 else _word_group(toks[0], freq, vocab, correct)
        )
        i += 1
    corrected = any(g.corrected for g in groups)
    did_you_mean = " ".join(g.corrected or g.text for g in groups) if corrected else None
    return QueryPlan(raw=raw, groups=groups, did_you_mean=did_you_mean)
