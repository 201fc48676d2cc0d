"""Assign each imported product one leaf of the category tree, from rules kept as data.

The tree and the rules live in ``shop/catalog/data/categories.json`` (edit that file, not
this code). The source catalog has no category field, so the category is read from the
product's words:

- Every rule names a ``leaf`` slug and a list of ``words`` (phrases matched as whole words,
  case-insensitive; a trailing ``*`` matches any word ending, e.g. ``headphone*``).
  ``unless`` phrases veto a rule; ``in`` limits a rule to some evidence passes.
  Rules are general keywords, never product ids.
- Evidence is tried in passes, strongest first: (1) the product type and the title,
  (2) the short description, (3) the attribute names and text values, (4) the brand
  (``brands`` rules only). Within a pass the rules are tried in file order and the first
  match wins, so specific phrases ("notebook battery") are listed before general ones
  ("notebook").
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


def normalize(text: str) -> str:
    """Lower-case ``text`` and turn every run of non-alphanumerics into one space."""
    text = _PIECES.sub(" pieces ", (text or "").lower())
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
            parts = normalize(phrase.rstrip("*")).split()
            if not parts:
                continue
            if len(parts) == 1 and not star:
                words.add(parts[0])
            elif len(parts) == 1:
                prefixes.append(parts[0])
            else:
                spans.append(" " + " ".join(parts) + ("" if star else " "))
        return cls(frozenset(words), tuple(prefixes), tuple(spans))

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

    def leaf_for(self, title: str, product_type: str = "", description: str = "",
                 attributes: dict | None = None, brand: str = "") -> str:
        """The leaf slug for one product (``fallback`` when no rule matches).

        Args:
            title: the full product title.
            product_type: the source's product type (often empty).
            description: the short description (plain text).
            attributes: readable attribute names -> values (see ``importer.readable_attributes``).
            brand: the brand, used only by ``brands`` rules, as the weakest evidence.
        """
        passes = [("title", normalize(f"{product_type} . {title}")),
                  ("description", normalize(description))]
        if attributes:
            passes.append(("attributes", normalize(" . ".join(
                f"{k} {v}" if isinstance(v, str) else k for k, v in attributes.items()
            ))))
        for name, text in passes:
            tokens = frozenset(text.split())
            if tokens:
                for rule in self.rules:
                    if name in rule.passes and rule.matches(text, tokens):
                        return rule.leaf
        key = (brand or "").strip().lower()
        if key:
            for rule in self.rules:
                if key in rule.brands:
                    return rule.leaf
        return self.fallback


@lru_cache(maxsize=4)
def load_categorizer(path: str = str(RULES_PATH)) -> Categorizer:
    """The categorizer for ``path`` (cached per process)."""
    return Categorizer.from_file(path)
