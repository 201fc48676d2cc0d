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


def _phrase_pattern(phrase: str) -> str:
    """Regex for one rule phrase on normalized text (whole words, optional ``*`` suffix)."""
    star = phrase.endswith("*")
    words = normalize(phrase.rstrip("*")).split()
    body = r" ".join(re.escape(w) for w in words)
    return r"(?<= )" + body + (r"[0-9a-z]*" if star else "") + r"(?= )"


def _compile(phrases: list[str]) -> re.Pattern | None:
    """One alternation regex for a list of phrases (None for an empty list)."""
    if not phrases:
        return None
    return re.compile("|".join(_phrase_pattern(p) for p in phrases))


@dataclass
class Rule:
    """One keyword rule: ``words`` select ``leaf`` unless an ``unless`` phrase is present."""

    leaf: str
    words: re.Pattern | None
    unless: re.Pattern | None = None
    brands: frozenset[str] = field(default_factory=frozenset)
    passes: frozenset[str] = PASSES

    def matches(self, text: str) -> bool:
        """True when ``text`` (normalized) has one of the words and none of the vetoes."""
        if self.words is None or not self.words.search(text):
            return False
        return not (self.unless is not None and self.unless.search(text))


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
                    words=_compile(raw.get("words", [])),
                    unless=_compile(raw.get("unless", [])),
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
            if text.strip():
                for rule in self.rules:
                    if name in rule.passes and rule.matches(text):
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
