"""Catalog services: categories and product queries and edits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from shop.cache import cached_catalog
from shop.catalog.models import Category
from shop.extensions import db


def category_tree() -> list[dict]:
    """The category tree as plain data: ``[{id, name, slug, children: [{id, name, slug}]}]``."""
    tops = db.session.scalars(
        select(Category)
        .where(Category.parent_id.is_(None))
        .options(selectinload(Category.children))
        .order_by(Category.position, Category.name)
    ).all()
    return [
        {
            "id": c.id,
            "name": c.name,
            "slug": c.slug,
            "children": [{"id": k.id, "name": k.name, "slug": k.slug} for k in c.children],
        }
        for c in tops
    ]


def category_tree_cached() -> list[dict]:
    """:func:`category_tree`, cached under the catalog version."""
    return cached_catalog(("category_tree",), category_tree)
