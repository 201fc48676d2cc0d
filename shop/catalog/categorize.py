"""Assign each imported product one leaf of the category tree, from rules kept as data.

The tree and the rules live in ``shop/catalog/data/categories.json`` (edit that file, not
this code). The source catalog has no category field, so the category is read from the
product's words:

- Every rule names a ``leaf`` slug and a list of ``words`` (phrases matched as whole words,
  case-insensitive; a trailing ``*`` matches any word ending, e.g. ``headphone*``).
  ``unless`` phrases veto a rule; ``in`` limits a rule to some evidence passes.
  Rules are general keywords, never product ids.
- Evidence is tried in passes, strongest first: (1) the product type, (2) the title,
  (3) the short description, (4) the attribute names and text values, (5) the brand
  (``brands`` rules only). In the title the phrase naming the product's kind wins
  (:meth:`Categorizer.head_leaf`: "HP Notebook Battery" is a battery, not a notebook).
  In the other passes the rules are tried in file order and the first match wins, so
  specific phrases ("notebook battery") are listed before general ones ("notebook").
- A product that nothing matches lands in the ``fallback`` category ("Other").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

RULES_PATH = Path(__file__).resolve().parent / "data" / "categories.json"
#: Evidence passes, strongest first; a rule's ``in`` list may limit it to some of them.
PASSES = frozenset({"title", "description", "attributes"})

_NON_WORD = re.compile(r"[^0-9a-z]+")
#: Icecat writes pack sizes as "6 pc(s)"; that "pc" is a count, not a personal computer.
_PIECES = re.compile(r"\bpc\(s\)|\bpcs\b")


def normalize(text: str, pieces: bool = True) -> str:
    """Lower-case ``text`` and turn every run of non-alphanumerics into one space.

    Args:
        pieces: read pack sizes ("6 pc(s)", "50 pcs") as "pieces" (product text, not
            the rules' own words, where "pcs" means computers).
    """
    text = (text or "").lower()
    if pieces:
        text = _PIECES.sub(" pieces ", text)
    return " " + _NON_WORD.sub(" ", text).strip() + " "


@dataclass
class Matcher:
    """A compiled list of phrases, matched against normalized text and its word set.

    Single words are looked up in the word set, phrases are searched as space-padded
    substrings, and ``*`` phrases as prefixes; no regular expressions (the importer runs
    every rule against every product).
    """

    words: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()

    @classmethod
    def compile(cls, phrases: list[str]) -> Matcher:
        """Sort ``phrases`` into the three kinds."""
        words, prefixes, spans = set(), [], []
        for phrase in phrases:
            star = phrase.endswith("*")
            parts = normalize(phrase.rstrip("*"), pieces=False).split()
            if not parts:
                continue
            if len(parts) == 1 and not star:
                words.add(parts[0])
            elif len(parts) == 1:
                prefixes.append(parts[0])
            else:
                spans.append(" " + " ".join(parts) + ("" if star else " "))
        return cls(frozenset(words), tuple(prefixes), tuple(spans))

    def spans(self, tokens: list[str]) -> list[tuple[int, int]]:
        """Where the phrases occur in ``tokens``: ``(first, last)`` token indexes."""
        found = [
            (i, i)
            for i, t in enumerate(tokens)
            if t in self.words or (self.prefixes and t.startswith(self.prefixes))
        ]
        for span in self.phrases:
            parts, star = span.split(), not span.endswith(" ")
            n = len(parts)
            for i in range(len(tokens) - n + 1):
                if tokens[i] != parts[0] or tokens[i + 1 : i + n - 1] != parts[1:-1]:
                    continue
                last = tokens[i + n - 1]
                if last == parts[-1] or (star and last.startswith(parts[-1])):
                    found.append((i, i + n - 1))
        return found

    def search(self, text: str, tokens: frozenset[str]) -> bool:
        """True when any phrase occurs in ``text`` (normalized; ``tokens`` its words)."""
        if self.words and not self.words.isdisjoint(tokens):
            return True
        if self.prefixes and any(t.startswith(self.prefixes) for t in tokens):
            return True
        return any(span in text for span in self.phrases)


@dataclass
class Rule:
    """One keyword rule: ``words`` select ``leaf`` unless an ``unless`` phrase is present."""

    leaf: str
    words: Matcher
    unless: Matcher = field(default_factory=Matcher)
    brands: frozenset[str] = field(default_factory=frozenset)
    passes: frozenset[str] = PASSES

    def matches(self, text: str, tokens: frozenset[str]) -> bool:
        """True when ``text`` (normalized) has one of the words and none of the vetoes."""
        return self.words.search(text, tokens) and not self.unless.search(text, tokens)


@dataclass
class Categorizer:
    """The loaded tree and rules; call :meth:`leaf_for` per product."""

    tree: list[dict]
    rules: list[Rule]
    fallback: str

    @classmethod
    def from_file(cls, path: Path | str = RULES_PATH) -> Categorizer:
        """Load and compile the rules file.

        Raises:
            ValueError: a rule names a slug that is not a leaf of the tree.
        """
        spec = json.loads(Path(path).read_text(encoding="utf-8"))
        leaves = set()
        for top in spec["tree"]:
            children = top.get("children") or []
            leaves.update(c["slug"] for c in children)
            if not children:
                leaves.add(top["slug"])
        rules = []
        for raw in spec["rules"]:
            if raw["leaf"] not in leaves:
                raise ValueError(f"rule for unknown leaf {raw['leaf']!r}")
            rules.append(
                Rule(
                    leaf=raw["leaf"],
                    words=Matcher.compile(raw.get("words", [])),
                    unless=Matcher.compile(raw.get("unless", [])),
                    brands=frozenset(b.lower() for b in raw.get("brands", [])),
                    passes=frozenset(raw.get("in", PASSES)),
                )
            )
        if spec["fallback"] not in leaves:
            raise ValueError("the fallback must be a leaf")
        return cls(tree=spec["tree"], rules=rules, fallback=spec["fallback"])

    def leaf_for(
        self,
        title: str,
        product_type: str = "",
        description: str = "",
        attributes: dict | None = None,
        brand: str = "",
    ) -> str:
        """The leaf slug for one product (``fallback`` when no rule matches).

        Args:
            title: the full product title.
            product_type: the source's product type (often empty).
            description: the short description (plain text).
            attributes: readable attribute names -> values (see ``importer.readable_attributes``).
            brand: the brand, used only by ``brands`` rules, as the weakest evidence.
        """
        if product_type:
            leaf = self._first_leaf("title", normalize(product_type))
            if leaf:
                return leaf
        leaf = self.head_leaf(title)
        if leaf:
            return leaf
        passes = [("description", normalize(description))]
        if attributes:
            passes.append(
                (
                    "attributes",
                    normalize(
                        " . ".join(f"{k} {v}" if isinstance(v, str) else k for k, v in attributes.items())
                    ),
                )
            )
        for name, text in passes:
            leaf = self._first_leaf(name, text)
            if leaf:
                return leaf
        key = (brand or "").strip().lower()
        if key:
            for rule in self.rules:
                if key in rule.brands:
                    return rule.leaf
        return self.fallback

    def _first_leaf(self, name: str, text: str) -> str | None:
        """The leaf of the first rule of pass ``name`` matching ``text`` (normalized)."""
        tokens = frozenset(text.split())
        if tokens:
            for rule in self.rules:
                if name in rule.passes and rule.matches(text, tokens):
                    return rule.leaf
        return None

    def head_leaf(self, title: str) -> str | None:
        """The leaf of what a title names as the product's kind (None when no rule matches).

        An Icecat title reads "brand model kind specs", and newer ones write the kind in
        lower case among capitalized names ("HP SlimFit Notebook Sleeve notebook case
        Gray"). English compounds name the kind last ("laptop roller", "notebook
        battery", "camera lens filter"). So, of the rule phrases found in the title (rules
        whose ``unless`` phrases occur are left out): only those before the
        specifications start count (a measurement such as "35.8 cm" or "2GB", or
        "for"/"with", after the first phrase found); of those, the ones written in lower
        case within the first lower-case run that has one, if any; then the phrase ending
        last wins, then the longer one, then the earlier rule.

        Args:
            title: the product title as written (case matters).
        """
        text = normalize(title)
        tokens = text.split()
        words = frozenset(tokens)
        found = []
        for order, rule in enumerate(self.rules):
            if "title" in rule.passes and rule.matches(text, words):
                found += [(last, -first, -order, rule.leaf) for first, last in rule.words.spans(tokens)]
        if not found:
            return None
        start = min(f[0] for f in found) + 1
        end = next((i for i in range(start, len(tokens)) if _ends_name(tokens, i)), len(tokens))
        found = [f for f in found if f[0] < end]
        cased = _cased_tokens(title)
        if len(cased) == len(tokens):
            lower = [t.isalpha() and t.islower() for t in cased]
            runs = [f for f in found if all(lower[-f[1] : f[0] + 1])]
            if runs:
                # The first lower-case run holding a phrase, from its start to its end.
                first = min(-f[1] for f in runs)
                last = first
                while last + 1 < len(lower) and lower[last + 1]:
                    last += 1
                found = [f for f in runs if first <= -f[1] and f[0] <= last]
        return max(found)[3]


#: Units that follow a number in a title's specifications.
_UNITS = frozenset(
    "cm mm m km in inch inches ft gb mb tb kb ghz mhz hz khz w kw v va kva mah wh ah pixels px x kg g lb "
    "ppm dpi rpm ms mbps gbps bit lm lumens channels pieces pages sheets u awg".split()
)
_MEASURE = re.compile(r"^\d+(?:%s)$" % "|".join(sorted(_UNITS, key=len, reverse=True)))
_NON_WORD_CASED = re.compile(r"[^0-9A-Za-z]+")
_PIECES_CASED = re.compile(_PIECES.pattern, re.IGNORECASE)


def _cased_tokens(title: str) -> list[str]:
    """The words of :func:`normalize` with their original case."""
    return _NON_WORD_CASED.sub(" ", _PIECES_CASED.sub(" pieces ", title or "")).split()


def _ends_name(tokens: list[str], i: int) -> bool:
    """True where a title's name part ends: at "for"/"with" or a measurement."""
    tok = tokens[i]
    if tok in ("for", "with"):
        return True
    if tok.isdigit():
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        after = tokens[i + 2] if i + 2 < len(tokens) else ""
        return nxt in _UNITS or (nxt.isdigit() and after in _UNITS)
    return bool(_MEASURE.match(tok))


@lru_cache(maxsize=4)
def load_categorizer(path: str = str(RULES_PATH)) -> Categorizer:
    """The categorizer for ``path`` (cached per process)."""
    return Categorizer.from_file(path)
