"""Facets of a search (category, brand, price band, in stock) and category helpers.

Each facet counts the matches under every filter except its own, so choosing a brand
still shows how many results the other brands have.
"""

from __future__ import annotations

import copy
from functools import lru_cache

from babel import Locale
from babel.numbers import format_currency, get_currency_precision
from flask import current_app
from rapidfuzz import fuzz, process
from sqlalchemy import Integer, Select, String, func, literal_column, select

from shop.cache import cached_catalog
from shop.cache_statistics import cached_statistic
from shop.catalog.models import Category, Product
from shop.extensions import db
from shop.money import format_money

#: Price bands: key -> (lowest price inclusive, highest price exclusive or None), in minor
#: units (cents) of the shop currency; :func:`band_label` names them.
PRICE_BANDS: dict[str, tuple[int, int | None]] = {
    "0-25": (0, 2500),
    "25-100": (2500, 10000),
    "100-250": (10000, 25000),
    "250-1000": (25000, 100000),
    "1000-": (100000, None),
}
BRAND_FACET_SIZE = 15


def band_label(key: str) -> str:
    """The name of the price band ``key`` in the shop's currency and locale (the app's
    ``SHOP_CURRENCY`` and ``SHOP_LOCALE``): "Under $25", "$25 to $100", "$1,000 and up";
    "25 € to 100 €" for euros in German."""
    return _band_labels(current_app.config["SHOP_CURRENCY"], current_app.config["SHOP_LOCALE"])[key]


@lru_cache(maxsize=8)
def _band_labels(currency: str, locale: str) -> dict[str, str]:
    """Every price band's label for a currency and locale (kept: Babel takes about a
    millisecond for the five, on every results page otherwise)."""
    labels = {}
    for key, (lo, hi) in PRICE_BANDS.items():
        if hi is None:
            labels[key] = f"{_whole_money(lo, currency, locale)} and up"
        elif lo == 0:
            labels[key] = f"Under {_whole_money(hi, currency, locale)}"
        else:
            labels[key] = f"{_whole_money(lo, currency, locale)} to {_whole_money(hi, currency, locale)}"
    return labels


def _whole_money(cents: int, currency: str, locale: str) -> str:
    """Minor units as the locale writes an amount of the currency, without the fraction
    digits when they are zero ("$1,000", "1.000 €"); other amounts as
    :func:`shop.money.format_money` writes them."""
    units, rest = divmod(cents, 10 ** get_currency_precision(currency))
    if rest:
        return format_money(cents, currency, locale)
    # The locale's own currency pattern without fraction digits (a copy: Babel shares it).
    pattern = copy.copy(Locale.parse(locale).currency_formats["standard"])
    pattern.frac_prec = (0, 0)
    return format_currency(units, currency, format=pattern, locale=locale, currency_digits=False)


def category_table() -> dict[int, dict]:
    """Every category: id -> ``{slug, name, full_name, parent_id}``, cached per catalog
    version (a rename or move is seen on the next request)."""

    def produce() -> dict[int, dict]:
        rows = db.session.execute(select(Category.id, Category.slug, Category.name, Category.parent_id)).all()
        names = {r[0]: r[2] for r in rows}
        return {
            r[0]: {
                "slug": r[1],
                "name": r[2],
                "parent_id": r[3],
                "full_name": f"{names[r[3]]} > {r[2]}" if r[3] in names else r[2],
            }
            for r in rows
        }

    return cached_catalog(("category-table",), produce)


def category_ids(slug: str) -> list[int]:
    """Ids of the category with ``slug`` and its children (empty if unknown)."""
    table = category_table()
    ids = [cid for cid, c in table.items() if c["slug"] == slug]
    if not ids:
        return []
    return [ids[0], *(cid for cid, c in table.items() if c["parent_id"] == ids[0])]


def category_names() -> dict[int, str]:
    """Category id -> name, for every category."""
    return {cid: c["name"] for cid, c in category_table().items()}


def _fact_sql(table: str) -> tuple:
    """(price band, in stock 1/0) of the ``price_cents`` and ``stock`` columns of
    ``table`` (a table or subquery name), as :func:`tally` groups them: SQL text built
    from :data:`PRICE_BANDS`, whose keys and bounds are the shop's own constants. Text,
    not built expressions: a CASE of bound values took longer to build than the rest of
    the statement, and a backend's match is a new subquery for every query."""
    price = f"{table}.price_cents"
    whens = " ".join(
        f"WHEN {price} < {int(hi)} THEN '{key}'" for key, (_lo, hi) in PRICE_BANDS.items() if hi is not None
    )
    return (
        literal_column(f"CASE {whens} ELSE '{list(PRICE_BANDS)[-1]}' END", String),
        literal_column(f"CASE WHEN {table}.stock > 0 THEN 1 ELSE 0 END", Integer),
    )


def tally(match=None) -> list[tuple]:
    """Counts of the active products (of a match subquery ``(product_id, score)``, if
    given) grouped by ``(category_id, brand, price band, in stock)``: everything the total
    and the facets need under any combination of filters, in one query
    (:func:`tally_statement`)."""
    return [tuple(r) for r in db.session.execute(tally_statement(match)).all()]


def tally_statement(match=None) -> Select:
    """The statement of :func:`tally`. A match that carries the product columns it counts
    (the PostgreSQL index does) is counted alone; on SQLite they are read from the covering
    index ``ix_products_search_facts`` (:data:`shop.catalog.counts.SQLITE_FACTS_INDEX`)."""
    if match is not None and "stock" in match.c:
        facts = match.c
        band, in_stock = _fact_sql(match.name)
        stmt = select(facts.category_id, facts.brand, band, in_stock, func.count()).select_from(match)
    else:
        facts = Product.__table__.c
        band, in_stock = _fact_sql(Product.__tablename__)
        stmt = select(facts.category_id, facts.brand, band, in_stock, func.count()).select_from(
            Product.__table__
        )
        if match is not None:
            stmt = stmt.join(match, match.c.product_id == Product.id)
        stmt = stmt.where(Product.status == "active")
    return stmt.group_by(facts.category_id, facts.brand, band, in_stock)


def _keep(row: tuple, params, cat_ids: set[int] | None, skip: str = "") -> bool:
    """Does a tally row pass the shopper's filters, except the one named ``skip``?"""
    cid, brand, band, stock, _n = row
    if cat_ids is not None and skip != "category" and cid not in cat_ids:
        return False
    if params.brand and skip != "brand" and brand not in params.brand:
        return False
    if params.price and skip != "price" and band != params.price:
        return False
    return not (params.in_stock and skip != "in_stock" and not stock)


def total(rows: list[tuple], params) -> int:
    """Number of matches passing every filter."""
    cat_ids = set(category_ids(params.category)) if params.category else None
    return sum(r[4] for r in rows if _keep(r, params, cat_ids))


def compute(rows: list[tuple], params) -> dict:
    """Facet counts from a :func:`tally`, each under every filter except its own.

    Returns:
        ``{"category": [{slug, name, full_name, count, selected}], "brand": [{value, count,
        selected}], "price": [{key, label, count, selected}], "in_stock": {count, selected}}``.
    """
    cat_ids = set(category_ids(params.category)) if params.category else None

    def counts(skip: str, key) -> dict:
        out: dict = {}
        for r in rows:
            if _keep(r, params, cat_ids, skip):
                out[key(r)] = out.get(key(r), 0) + r[4]
        return out

    by_band = counts("price", lambda r: r[2])
    price = [
        {"key": k, "label": band_label(k), "count": by_band.get(k, 0), "selected": params.price == k}
        for k in PRICE_BANDS
    ]
    in_stock = counts("in_stock", lambda r: r[3]).get(1, 0)
    return {
        "category": _category_facet(counts("category", lambda r: r[0]), params),
        "brand": _brand_facet(counts("brand", lambda r: r[1]), params),
        "price": price,
        "in_stock": {"count": in_stock, "selected": bool(params.in_stock)},
    }


def _category_facet(by_cat: dict[int, int], params) -> list[dict]:
    """Category facet entries from counts per category id, most products first."""
    cats = category_table()
    return sorted(
        (
            {
                "slug": cats[cid]["slug"],
                "name": cats[cid]["name"],
                "full_name": cats[cid]["full_name"],
                "count": n,
                "selected": cats[cid]["slug"] == params.category,
            }
            for cid, n in by_cat.items()
            if cid in cats
        ),
        key=lambda f: (-f["count"], f["name"]),
    )


def _brand_facet(by_brand: dict[str, int], params) -> list[dict]:
    """The ``BRAND_FACET_SIZE`` brands with most products, then any chosen brand not among them."""
    top = sorted(((b, n) for b, n in by_brand.items() if b), key=lambda x: (-x[1], x[0]))[:BRAND_FACET_SIZE]
    brand = [{"value": b, "count": n, "selected": b in params.brand} for b, n in top]
    for chosen in params.brand:  # a chosen brand stays visible even if it is not in the top
        if chosen not in {b["value"] for b in brand}:
            brand.append({"value": chosen, "count": by_brand.get(chosen, 0), "selected": True})
    return brand


def category_sizes() -> dict[int, int]:
    """Active products per category id (leaves), up to ten minutes stale
    (:func:`shop.cache_statistics.cached_statistic`): zero-result pages rank categories by
    it."""

    def produce() -> dict[int, int]:
        return dict(
            db.session.execute(
                select(Product.category_id, func.count())
                .where(Product.status == "active")
                .group_by(Product.category_id)
            ).all()
        )

    return cached_statistic(("search", "category-sizes"), produce)


def closest_categories(plan, limit: int = 5) -> list[dict]:
    """Categories whose names best resemble the query words (for a zero-result page).

    Returns:
        ``[{slug, name, full_name}]``, best first; the largest categories if none resemble it.
    """
    table = category_table()
    if not table:
        return []
    words = " ".join(g.corrected or g.text for g in plan.groups)
    names = {cid: c["full_name"].lower() for cid, c in table.items()}
    found = process.extract(words, names, scorer=fuzz.token_set_ratio, limit=limit, score_cutoff=50)
    chosen = [key for _name, _score, key in found]
    if not chosen:
        sizes = category_sizes()
        leaves = (cid for cid, c in table.items() if c["parent_id"] is not None)
        chosen = sorted(leaves, key=lambda cid: -sizes.get(cid, 0))[:limit]
    return [{k: table[cid][k] for k in ("slug", "name", "full_name")} for cid in chosen]
