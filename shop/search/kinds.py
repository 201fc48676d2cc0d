"""Product kind: what a product *is* ("notebook", "camera lens", "toner cartridge"), read
from its title, and the kind a query names, with the shopper's words for kinds learned
from the catalog.

Sources of the rules:

- Icecat titles read "brand model kind specifications" (the catalog's README; e.g.
  "Philips SPA2600/00 speaker set 5.1 channels"), newer ones with the kind in lower case
  among capitalized names. English compounds name the kind last ("camera lens", "laptop
  lock": a lock), the head-final rule of English noun compounds (Quirk et al., *A
  Comprehensive Grammar of the English Language*, 1985, §17.108). So a product's kind
  heads (:func:`kind_heads`) are the last word of its title's first lower-case run and the
  last word before its specifications start (a measurement, "for"/"with", a dash or a
  comma, as :mod:`shop.catalog.categorize` reads titles).
- A query names a kind with its last word (same rule): "laptop case" asks for a case,
  "camera" for a camera; a lock *for* a laptop is not a laptop.
- Shoppers' words for kinds (:func:`kind_vocabulary`) come from the catalog itself: the
  shop's category names are shoppers' words ("Laptops"), the kind heads of the products
  in that category are the catalog's ("notebook"). A kind a category's name lists (the
  last word of each part of the name, by the same head-final rule) that is seldom a kind
  head of its products itself stands for the heads that make up a large share of them.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from functools import lru_cache

from sqlalchemy import select

from shop.cache_statistics import cached_statistic, store_statistic
from shop.catalog.categorize import _UNITS, _ends_name
from shop.catalog.models import Category, Product
from shop.extensions import db
from shop.search.facets import category_table
from shop.search.fieldwise import plural_stem, query_words
from shop.search.query import Alternative, Group, QueryPlan

_WORD = re.compile(r"[^\W_]+")
_DOMAIN = re.compile(r"\.(?:com|net|org)\b", re.IGNORECASE)
#: Icecat writes pack sizes as "24 pc(s)" / "1000pcs": a count, never a kind.
PACK = re.compile(r"\bpc\(s\)|\b\d*pcs\b")
#: Lower-case words that are not kinds (they join or qualify a kind).
FUNCTION_WORDS = frozenset("a an and or of the in on to by x for with".split())
#: Words that qualify a kind in Icecat titles and never name one: function words, units
#: of measure (:data:`shop.catalog.categorize._UNITS`), colours and the source's tags.
_NOT_KINDS = (
    FUNCTION_WORDS
    | _UNITS
    | frozenset(
        "black white grey gray silver blue red green yellow cyan magenta pink purple orange brown "
        "gold beige transparent multicolour multicolor colour color original compatible mp".split()
    )
)
#: A category-name word stands for the kind heads making up at least this share of its
#: category's products, when it is itself the head of fewer than ``SELF_SHARE`` of them.
HEAD_SHARE = 0.2
SELF_SHARE = 0.05
#: Weight of a kind a query's word stands for, against the word's own kind (1.0): a
#: learned alias is weaker evidence than the shopper's own word.
ALIAS_WEIGHT = 0.5
#: Seconds the learned vocabulary stays cached (it changes only with the catalog).
VOCABULARY_TIMEOUT = 3600


def head_key(word: str) -> str:
    """A folded word reduced for comparing kinds (its singular: "laptops" -> "laptop")."""
    return plural_stem(word.lower())


def _name_part(title: str) -> list[str]:
    """The whitespace-separated words of a title before its specifications (see
    :func:`kind_heads`), pack sizes and web domains left out."""
    chunks = _DOMAIN.sub(" ", PACK.sub(" ", title or "")).split()
    tokens = [t.lower() for c in chunks for t in _WORD.findall(c)]
    name: list[str] = []
    pos = 0
    for chunk in chunks:
        words = _WORD.findall(chunk)
        if chunk in ("-", "–") or chunk.startswith("(") or not words:
            if name:
                break
            continue
        if len(name) > 1 and _ends_name(tokens, pos):
            break
        name.append(chunk)
        pos += len(words)
        if chunk.endswith(","):
            break
    return name


def _is_name(word: str) -> bool:
    """True for a word written in camel case ("UltraSharp", "ThinkVision", "iPhone"): capitals
    and small letters mixed after its first letter, as trademarks and series names are
    written and English common nouns, which name kinds, never are (an acronym such as
    "TV" or "LCD" is all capitals)."""
    rest = word[1:]
    return any(c.isupper() for c in rest) and any(c.islower() for c in rest)


@lru_cache(maxsize=65536)
def kind_heads(title: str) -> frozenset[str]:
    """The words naming a product's kind in its title (reduced by :func:`head_key`): the
    last all-letter word before the specifications start, and the last word of the first
    lower-case run after the brand within that name part. Empty when the title has neither.

    The name part ends at a measurement or "for"/"with" (as
    :func:`shop.catalog.categorize.Categorizer.head_leaf` reads titles), a lone dash, a
    comma or an opening parenthesis. Units, colours and words such as "original" qualify a
    kind and are never one. A last word in camel case ("UltraSharp", :func:`_is_name`)
    names a series, not a kind: the title then names its kind by its lower-case run only.

    >>> sorted(kind_heads("Canon 2598A001 camera lens filter 6.7 cm Camera protection filter"))
    ['filter']
    >>> sorted(kind_heads("Kensington MicroSaver Keyed Laptop Lock"))
    ['lock']
    """
    heads = set()
    plain = [c.strip(",;:-–") for c in _name_part(title)[1:]]
    plain = [c for c in plain if c.isalpha() and len(c) > 1 and c.lower() not in _NOT_KINDS]
    if plain and not _is_name(plain[-1]):
        heads.add(head_key(plain[-1]))
    run: list[str] = []
    for chunk in plain:
        if chunk.islower():
            run.append(chunk)
        elif run:
            break
    if run:
        heads.add(head_key(run[-1]))
    return frozenset(heads)


#: Words after which a query names what its kind is for or comes with ("case for
#: iphone", "mouse with pad"), as a title's name part ends there
#: (:func:`shop.catalog.categorize._ends_name`).
_COMPLEMENT = frozenset({"for", "with"})


def query_head(words: list[str]) -> str | None:
    """The word of a query naming a kind: its last alphabetic word of 2+ letters before
    any "for" or "with" (reduced by :func:`head_key`: "charger for laptop" asks for a
    charger), or None (a query of model numbers)."""
    cut = next((i for i, w in enumerate(words) if i and w in _COMPLEMENT), len(words))
    for word in reversed(words[:cut]):
        if word.isalpha() and len(word) > 1:
            return head_key(word)
    return None


def category_heads(name: str) -> list[str]:
    """The kinds a category's name lists, each the last word of a part ("Laptop parts &
    docks" -> part, dock; "Monitors & TVs" -> monitor, tv), reduced by :func:`head_key`."""
    out = []
    for part in re.split(r"[&,]| and ", name.lower()):
        words = [w for w in _WORD.findall(part) if len(w) > 1]
        if words:
            out.append(head_key(words[-1]))
    return out


def learn_vocabulary(rows) -> dict[str, object]:
    """The kind vocabulary of a catalog.

    Args:
        rows: ``(title, leaf category name)`` of every active product.
    Returns:
        ``{"heads": {head: products}, "aliases": {category word: [heads]}, "expand":
        {category word: [heads]}, "kinds": frozenset}``: how many products each kind head
        names; per category-name word that is seldom a head itself (under ``SELF_SHARE`` of its
        category) the heads making up ``HEAD_SHARE`` or more of its category ("laptop" ->
        ["notebook"] when the category "Laptops" is mostly notebooks); and, in
        ``expand``, those of the aliases whose word is also seldom in the titles of its
        category at all (under ``SELF_SHARE``): the shopper's word does not reach those
        products by their titles, so a query's word searches its aliases too
        (:func:`expand_plan`). "USB & data cables" mostly say "USB": no expansion. A
        kind the category's name lists is never an alias of another word of that name
        ("Keyboards & mice": "mice" stands for "mouse", not "keyboard").
        ``kinds`` are the words that name a kind of product (:func:`names_kind`): the
        kinds the category names list, the words standing for others (``aliases``), and
        the heads of at least ``HEAD_SHARE`` of the titles using the word at all
        ("keyboard", "cartridge"; not "pro", which ends model names: "Surface Pro").
    """
    heads: Counter[str] = Counter()
    per_category: dict[str, Counter[str]] = defaultdict(Counter)
    in_titles: dict[str, Counter[str]] = defaultdict(Counter)
    sizes: Counter[str] = Counter()
    titled: Counter[str] = Counter()
    named = {c: category_heads(c) for c in {c for _, c in rows if c}}
    for title, category in rows:
        # Uncached: a pass over every title would fill kind_heads' cache for nothing.
        found = kind_heads.__wrapped__(title or "")
        heads.update(found)
        words = {head_key(w) for w in _WORD.findall((title or "").lower())}
        titled.update(words | found)
        if category:
            per_category[category].update(found)
            sizes[category] += 1
            in_titles[category].update(k for k in named[category] if k in words)
    aliases: dict[str, list[str]] = defaultdict(list)
    expand: dict[str, list[str]] = defaultdict(list)
    for category, counts in per_category.items():
        size = sizes[category]
        common = [h for h, n in counts.most_common() if n >= HEAD_SHARE * size]
        for key in named[category]:
            if counts.get(key, 0) >= SELF_SHARE * size:
                continue
            # The other kinds the name lists are kinds of their own ("Adapters & hubs":
            # a hub is not an adapter).
            new = [h for h in common if h not in named[category]]
            aliases[key].extend(h for h in new if h not in aliases[key])
            if in_titles[category][key] < SELF_SHARE * size:
                expand[key].extend(h for h in new if h not in expand[key])
    listed = {k for keys in named.values() for k in keys}
    usual = {h for h, n in heads.items() if n >= HEAD_SHARE * titled[h]}
    return {
        "heads": dict(heads),
        "aliases": {k: v for k, v in aliases.items() if v},
        "expand": {k: v for k, v in expand.items() if v},
        "kinds": frozenset(listed | usual | {k for k, v in aliases.items() if v}),
    }


def kind_vocabulary() -> dict[str, object]:
    """:func:`learn_vocabulary` of the active catalog, cached for ``VOCABULARY_TIMEOUT``
    seconds (one pass over every title, about 0.3 s for 19,000 products) under the
    category names (:func:`_categories_key`): a category renamed, added or removed is
    learned at the next search, as the words searched for a query depend on it
    (:func:`expand_plan`); titles changed reach it within the timeout. A process keeps
    what it read (:func:`shop.cache_statistics.cached_statistic`): a search reads it
    three times. Its readers never change it."""
    key = _VOCABULARY_KEY + (_categories_key(),)
    return cached_statistic(key, lambda: store_learned(learn_catalog())[0], VOCABULARY_TIMEOUT)


def kind_words() -> frozenset[str]:
    """The words naming a kind of product in the active catalog (``kinds`` of
    :func:`learn_vocabulary`), cached as :func:`kind_vocabulary` is but apart from it: only
    a relaxed search reads them, and every search reads the vocabulary."""
    key = _KINDS_KEY + (_categories_key(),)
    return cached_statistic(key, lambda: store_learned(learn_catalog())[1], VOCABULARY_TIMEOUT)


#: Cache keys of the vocabulary and of the words naming kinds (with the category digest);
#: the version changes with the way words are reduced (:func:`head_key`), so that no
#: process reads what an older one learned.
_VOCABULARY_KEY = ("search", "kinds", "v4")
_KINDS_KEY = ("search", "kind-words", "v2")


def learn_catalog() -> dict[str, object]:
    """:func:`learn_vocabulary` of the active products' titles and leaf categories."""
    rows = db.session.execute(
        select(Product.name, Category.name)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(Product.status == "active")
    ).all()
    return learn_vocabulary(rows)


def store_learned(learned: dict[str, object]) -> tuple[dict[str, object], frozenset[str]]:
    """Split a :func:`learn_vocabulary` into the vocabulary every search reads and the
    words naming kinds (only a relaxed search reads them), and store both for
    ``VOCABULARY_TIMEOUT`` seconds: one pass over the titles fills both entries, whichever
    was asked for first."""
    learned = dict(learned)
    kinds = learned.pop("kinds")
    digest = _categories_key()
    store_statistic(_VOCABULARY_KEY + (digest,), learned, VOCABULARY_TIMEOUT)
    store_statistic(_KINDS_KEY + (digest,), kinds, VOCABULARY_TIMEOUT)
    return learned, kinds


def _categories_key() -> str:
    """A digest of the categories' ids and names, from the category table the search
    reads anyway (:func:`shop.search.facets.category_table`, cached per catalog version,
    which every category change replaces); a stock or price change leaves it alone.
    Worked out once per table: a process keeps the table it read for as long as the
    catalog version stands, and a search asks three times."""
    global _categories_digest
    table = category_table()
    kept_table, digest = _categories_digest
    if kept_table is not table:
        rows = sorted((cid, c["name"]) for cid, c in table.items())
        digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
        _categories_digest = (table, digest)
    return digest


#: The category table :func:`_categories_key` last digested, and its digest.
_categories_digest: tuple[object, str] = (None, "")


def query_kinds(words: list[str], vocabulary: dict[str, object]) -> dict[str, float]:
    """The kind heads a query asks for, with weights: its head word (:func:`query_head`)
    1.0 if the catalog has products of that kind, and the heads the word stands for
    (``aliases``) ``ALIAS_WEIGHT``. Empty when the query names no kind the catalog knows."""
    head = query_head(words)
    if head is None:
        return {}
    kinds = dict.fromkeys(vocabulary["aliases"].get(head, []), ALIAS_WEIGHT)
    if vocabulary["heads"].get(head, 0) > 0:
        kinds[head] = 1.0
    return kinds


def names_kind(word: str, kinds: frozenset[str]) -> bool:
    """True if ``word`` names a kind of product in this catalog: one of ``kinds``
    (:func:`kind_words`, ``kinds`` of :func:`learn_vocabulary`), compared by
    :func:`head_key`."""
    return head_key(word) in kinds


@lru_cache(maxsize=4096)
def type_head(product_type: str) -> str | None:
    """The kind a product type of the source records names ("Notebook", "Camera lens"):
    its last alphabetic word of 2+ letters (the head-final rule above), reduced by
    :func:`head_key`; None for an empty or numeric type. Cached: the catalog has few
    types, and the re-rank asks for each candidate's."""
    return query_head(_WORD.findall((product_type or "").lower()))


def kind_weight(title: str, kinds: dict[str, float], product_type: str = "") -> float:
    """How well a product of this title and product type is of a kind the query asks
    for: the largest weight of :func:`query_kinds` among its :func:`kind_heads` and the
    :func:`type_head` of its product type (0.0 for none)."""
    heads = kind_heads(title)
    typed = type_head(product_type)
    if typed:
        heads = heads | {typed}
    return max((kinds.get(h, 0.0) for h in heads), default=0.0)


def expansions(words: list[str], vocabulary: dict[str, object]) -> dict[str, dict[str, float]]:
    """The catalog's words searched for a query's head word, ``{typed word: {catalog
    word: ALIAS_WEIGHT}}`` ("laptop" -> {"laptop": {"notebook": 0.5}}): the word naming
    the query's kind (:func:`query_head`, its last word) and its entry in
    ``vocabulary["expand"]`` (:func:`learn_vocabulary`); empty when it has none."""
    head = query_head(words)
    extra = vocabulary.get("expand", {}).get(head, []) if head else []
    typed = next((w for w in reversed(words) if head_key(w) == head), None) if extra else None
    return {typed: dict.fromkeys(extra, ALIAS_WEIGHT)} if typed else {}


def expand_plan(plan: QueryPlan, vocabulary: dict[str, object]) -> QueryPlan:
    """The plan with the catalog's words for the kind its head word names
    (``vocabulary["expand"]``, :func:`learn_vocabulary`) as further alternatives of that
    word's group, so that they are searched too: "laptop" also matches "notebook" (the
    products then rank by :mod:`shop.search.ranking` as any match does). The head word is
    the query's last word (:func:`query_head`, spelling corrected if it was); only a group
    of that one word is widened. Returns a new plan, or ``plan`` itself when nothing is
    added."""
    found = expansions(query_words(plan), vocabulary)
    for i in range(len(plan.groups) - 1, -1, -1):
        g = plan.groups[i]
        if g.parts or (g.corrected or g.text) not in found:
            continue
        extra = found[g.corrected or g.text]
        wider = Group(g.text, list(g.alternatives), g.corrected)
        for word in extra:
            wider.add(Alternative((word,)))
        return QueryPlan(plan.raw, [*plan.groups[:i], wider, *plan.groups[i + 1 :]], plan.did_you_mean)
    return plan
