"""Categories for shoppers: the tree with its active-product counts, one category's page
data, and the counts per category and brand (maintained on PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from shop.cache import cached_catalog
from shop.catalog.models import Category, Product, ProductCount
from shop.exceptions import NotFound
from shop.extensions import db


def category_tree() -> list[dict]:
    """The category tree as plain data.

    Returns:
        ``[{id, name, slug, full_name, product_count, children: [{id, name, slug,
        full_name, product_count}]}]``, counts of active products (a top-level count
        includes its leaves), ordered by position then name.
    """
    # Maintained by the database (shop.catalog.counts): ~2,000 rows, not the catalog.
    c = product_counts()
    counts = dict(db.session.execute(select(c.category_id, func.sum(c.active)).group_by(c.category_id)).all())
    tops = db.session.scalars(
        select(Category)
        .where(Category.parent_id.is_(None))
        .options(selectinload(Category.children))
        .order_by(Category.position, Category.name)
    ).all()
    tree = []
    for c in tops:
        children = [
            {
                "id": k.id,
                "name": k.name,
                "slug": k.slug,
                "full_name": f"{c.name} > {k.name}",
                "product_count": counts.get(k.id, 0),
            }
            for k in c.children
        ]
        tree.append(
            {
                "id": c.id,
                "name": c.name,
                "slug": c.slug,
                "full_name": c.name,
                "product_count": counts.get(c.id, 0) + sum(k["product_count"] for k in children),
                "children": children,
            }
        )
    return tree


def product_counts():
    """Active products per ``category_id`` (0: none) and ``brand``, as columns ``category_id``,
    ``brand``, ``active``: the maintained ``product_counts`` table on PostgreSQL; on SQLite
    (the embedded, small-catalog default) counted from ``products`` each time."""
    if db.session.get_bind().dialect.name == "postgresql":
        return ProductCount.__table__.c
    category = func.coalesce(Product.category_id, 0)
    return (
        select(category.label("category_id"), Product.brand.label("brand"), func.count().label("active"))
        .where(Product.status == "active")
        .group_by(category, Product.brand)
        .subquery()
        .c
    )


#: Key parts of the cached category tree.
CATEGORY_TREE_KEY = ("category_tree",)


def category_tree_cached() -> list[dict]:
    """:func:`category_tree`, cached under the catalog version."""
    return cached_catalog(CATEGORY_TREE_KEY, category_tree)


def get_category(slug: str) -> Category:
    """The category with ``slug``.

    Raises:
        NotFound: no such category.
    """
    category = db.session.scalar(
        select(Category).where(Category.slug == slug).options(selectinload(Category.children))
    )
    if category is None:
        raise NotFound(f"No category '{slug}'.")
    return category


def category_info(slug: str) -> dict:
    """Plain data about a category for its page: ``{id, name, slug, full_name, parent,
    children, ids}`` where ``ids`` are the category and its leaves (what it lists).

    Raises:
        NotFound: no such category.
    """
    category = get_category(slug)
    parent = category.parent
    return {
        "id": category.id,
        "name": category.name,
        "slug": category.slug,
        "full_name": category.full_name,
        "parent": {"name": parent.name, "slug": parent.slug} if parent else None,
        "children": [{"name": k.name, "slug": k.slug} for k in category.children],
        "ids": [category.id] + [k.id for k in category.children],
    }
