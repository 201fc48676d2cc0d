"""The products of a page of results as the result lists show them (:class:`ProductCard`),
read as plain columns and kept per index state with the re-rank window's products
(:mod:`shop.search.kept`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from shop.catalog.models import Product
from shop.extensions import db
from shop.search.facets import category_table
from shop.search.kept import kept
from shop.sqlin import id_in

#: The product columns of a card, in the order :class:`ProductCard` takes them (the
#: category as its id).
CARD_COLUMNS = (
    Product.id,
    Product.sku,
    Product.slug,
    Product.name,
    Product.brand,
    Product.category_id,
    Product.price_cents,
    Product.stock,
    Product.status,
    Product.image_url,
)


@dataclass(frozen=True, slots=True)
class CategoryCard:
    """A product's category as result lists name it (:func:`shop.catalog.schemas.category_json`)."""

    slug: str
    name: str
    #: ``Parent > Child`` for a leaf, the name for a top-level category.
    full_name: str


@dataclass(frozen=True, slots=True)
class ProductCard:
    """A product as a list of results shows it: what
    :func:`shop.catalog.schemas.product_json` reads of a :class:`Product`, read as plain
    columns (no ORM object: a page of 24 products through the ORM, with their categories
    and the categories' parents joined, cost more than the rest of its loading together).
    Money in integer cents of the shop currency."""

    id: int
    sku: str
    slug: str
    name: str
    brand: str | None
    category: CategoryCard | None
    price_cents: int
    stock: int
    status: str
    image_url: str | None


def load_products(ids: list[int], state: int | None = None) -> list[ProductCard]:
    """The products of ``ids`` as :class:`ProductCard` s, in the order of ``ids`` (ids of
    missing products are left out); their categories' names come from the category table
    kept per catalog version (:func:`shop.search.facets.category_table`).

    Args:
        ids: product ids.
        state: the index's change counter as this search read it
            (:func:`shop.search.index.state`), or None. With it, products this process
            read under the same counter and catalog version (:func:`shop.search.kept.kept`),
            here or with the re-rank window, are not read again: the first page of a
            query is then shown without a statement of its own.
    """
    if not ids:
        return []
    rows = kept(state).cards
    missing = [i for i in ids if i not in rows]
    if missing:
        for row in db.session.execute(select(*CARD_COLUMNS).where(id_in(Product.id, missing))):
            rows[row[0]] = tuple(row)
    cats = category_table()
    return [_card(rows[i], cats) for i in ids if i in rows]


def _card(row: tuple, cats: dict) -> ProductCard:
    """A :class:`ProductCard` of a row of :data:`CARD_COLUMNS`."""
    pid, sku, slug, name, brand, category_id, price, stock, status, image = row
    cat = cats.get(category_id)
    category = CategoryCard(cat["slug"], cat["name"], cat["full_name"]) if cat else None
    return ProductCard(pid, sku, slug, name, brand, category, price, stock, status, image)
