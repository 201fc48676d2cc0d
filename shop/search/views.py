"""Search results page: ranked products with facets, sorting, paging and highlighted titles.

The page reads its query string leniently (an unknown sort, price band or a page that is
not a number falls back to the default, never an error page) and calls the same search
service as the JSON API.
"""

from __future__ import annotations

import re

from flask import render_template, request, url_for
from markupsafe import Markup, escape

from shop.catalog.schemas import product_json
from shop.front_cache import public_page
from shop.http_caching import public_request
from shop.search import bp
from shop.search.facets import PRICE_BANDS, band_label
from shop.search.params import (
    MAX_BRAND_LENGTH,
    MAX_BRANDS,
    MAX_CATEGORY_LENGTH,
    MAX_PAGE,
    MAX_QUERY_LENGTH,
    PAGE_SIZE,
    SORTS,
    SearchParams,
)
from shop.search.services import SearchResult, search, search_stamped
from shop.search.tokens import fold, stem

#: Titles on result cards are cut to this many characters (before highlighting).
TITLE_CHARS = 90
_WORD = re.compile(r"[^\W_]+")
_TRUE = {"1", "true", "on", "yes"}


def highlight(text: str, terms: list[str]) -> Markup:
    """``text`` HTML-escaped, with the words matching ``terms`` wrapped in ``<mark>``.

    A word matches a term when, folded (lower case, no accents), it equals the term, has
    the same English stem, or starts with it (a term of 3+ characters, for model numbers
    and prefixes typed). Only whole words are marked, and every piece of the title goes
    through ``escape`` first, so the result is safe to insert as HTML.
    """
    wanted = {t for t in terms if t}
    if not wanted:
        return escape(text)
    stems = {stem(t) for t in wanted}
    prefixes = tuple(t for t in wanted if len(t) >= 3)
    out: list[Markup] = []
    pos = 0
    for m in _WORD.finditer(text):
        word = fold(m.group())
        if word in wanted or stem(word) in stems or (prefixes and word.startswith(prefixes)):
            out.append(escape(text[pos : m.start()]))
            out.append(Markup("<mark>%s</mark>") % m.group())
            pos = m.end()
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def short_title(text: str, limit: int = TITLE_CHARS) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters (with an ellipsis)."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,;-") + "…"


def _read_params() -> tuple[SearchParams, dict]:
    """Search parameters from the query string, and the args to keep in links.

    Unknown or malformed values fall back to their defaults.
    """
    args = request.args
    q = " ".join((args.get("q") or "").split())[:MAX_QUERY_LENGTH]
    try:
        page = max(1, min(int(args.get("page") or 1), MAX_PAGE))
    except ValueError:
        page = 1
    sort = args.get("sort") if args.get("sort") in SORTS else "relevance"
    price = args.get("price") if args.get("price") in PRICE_BANDS else None
    category = (args.get("category") or "").strip()[:MAX_CATEGORY_LENGTH] or None
    brands: list[str] = []
    for raw in args.getlist("brand"):
        name = raw.strip()[:MAX_BRAND_LENGTH]
        if name and name not in brands and len(brands) < MAX_BRANDS:
            brands.append(name)
    in_stock = (args.get("in_stock") or "").lower() in _TRUE
    literal = (args.get("literal") or "").lower() in _TRUE
    params = SearchParams(
        q=q,
        category=category,
        brand=brands,
        price=price,
        in_stock=in_stock,
        sort=sort,
        page=page,
        per_page=PAGE_SIZE,
        literal=literal,
    )
    keep = {
        "q": q or None,
        "category": category,
        "brand": brands or None,
        "price": price,
        "in_stock": "1" if in_stock else None,
        "sort": None if sort == "relevance" else sort,
        "literal": "1" if literal else None,
    }
    return params, {k: v for k, v in keep.items() if v}


def _link(keep: dict, **changes) -> str:
    """URL of the results page with ``keep`` changed (a None value drops the arg; page resets)."""
    args = {**keep, **changes}
    return url_for("search.results", **{k: v for k, v in args.items() if v})


def _facet_links(facets: dict, params: SearchParams, keep: dict) -> dict:
    """Facets with the URL that toggles each entry, keeping the other parameters."""
    if not facets:
        return {}
    out = {
        "category": [
            {**f, "url": _link(keep, category=None if f["selected"] else f["slug"])}
            for f in facets.get("category", [])
        ],
        "brand": [],
        "price": [
            {**f, "url": _link(keep, price=None if f["selected"] else f["key"])}
            for f in facets.get("price", [])
        ],
    }
    for f in facets.get("brand", []):
        chosen = (
            [b for b in params.brand if b != f["value"]] if f["selected"] else [*params.brand, f["value"]]
        )
        out["brand"].append({**f, "url": _link(keep, brand=chosen or None)})
    stock = facets.get("in_stock") or {"count": 0, "selected": False}
    out["in_stock"] = {**stock, "url": _link(keep, in_stock=None if stock["selected"] else "1")}
    return out


def _active_filters(params: SearchParams, keep: dict, facets: dict) -> list[dict]:
    """The filters in force, each with a link that removes it."""
    chips = []
    if params.category:
        name = next(
            (f["full_name"] for f in facets.get("category", []) if f["slug"] == params.category),
            params.category,
        )
        chips.append({"label": name, "url": _link(keep, category=None)})
    for b in params.brand:
        rest = [x for x in params.brand if x != b]
        chips.append({"label": b, "url": _link(keep, brand=rest or None)})
    if params.price:
        chips.append({"label": band_label(params.price), "url": _link(keep, price=None)})
    if params.in_stock:
        chips.append({"label": "In stock", "url": _link(keep, in_stock=None)})
    return chips


@bp.get("/search")
def results():
    """Search results: ``PAGE_SIZE`` a page, facets in a sidebar, sortable; a prompt for an empty query.

    A visitor without a session gets the whole page from the cache when it can be: it is
    the same for every such visitor, so it is kept by its URL under the catalog version and
    the stock stamps of what it shows (:func:`shop.search.services.search_stamped`), as
    the category pages are; a repeated search then neither searches nor renders.
    """
    params, keep = _read_params()
    filtered = any(k in keep for k in ("category", "brand", "price", "in_stock"))
    if not params.q and not filtered:
        return render_template("search/prompt.html")
    if not public_request():
        return _page(search(params, with_facets=True), params, keep)

    def build() -> tuple[str, dict[int, int] | None]:
        found = search_stamped(params)
        return _page(found.value, params, keep), found.stamps

    return public_page(build)


def _page(result: SearchResult, params: SearchParams, keep: dict) -> str:
    """The results page of ``result``."""
    terms = result.highlight_terms if params.q else []
    items = [
        {"product": product_json(p), "title": highlight(short_title(p.name), terms)} for p in result.products
    ]
    sorts = [
        {
            "key": key,
            "label": label,
            "selected": key == params.sort,
            "url": _link(keep, sort=None if key == "relevance" else key),
        }
        for key, label in SORTS.items()
    ]
    return render_template(
        "search/results.html",
        params=params,
        result=result,
        items=items,
        keep=keep,
        facets=_facet_links(result.facets, params, keep),
        chips=_active_filters(params, keep, result.facets),
        sorts=sorts,
        clear_url=_link({"q": params.q} if params.q else {}),
        did_you_mean_url=_link({}, q=result.did_you_mean) if result.did_you_mean else None,
        literal_url=_link(keep, literal="1") if result.corrected else None,
        page_args={k: v for k, v in keep.items()},
    )
