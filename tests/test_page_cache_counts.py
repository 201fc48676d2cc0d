"""The maintained product counts and the listing query that reads one page per leaf.

The counts (``product_counts``, kept by database triggers) must always equal a count over
``products``, whatever statement changed a product; the merged per-leaf page must be the
page a plain sort of all matches would give, in every sort order.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select, text

from shop.catalog.models import Product, ProductCount
from shop.catalog.services import ProductFilters, brand_counts, category_tree, list_products
from tests.factories import make_category, make_product


def _counted(db) -> dict[tuple[int, str], int]:
    """``{(category id or 0, brand): active}`` from the maintained table (zeros left out)."""
    rows = db.session.execute(select(ProductCount.category_id, ProductCount.brand, ProductCount.active)).all()
    return {(c, b): n for c, b, n in rows if n}


def _truth(db) -> dict[tuple[int, str], int]:
    """The same counted over ``products``."""
    rows = db.session.execute(
        select(Product.category_id, Product.brand, func.count())
        .where(Product.status == "active")
        .group_by(Product.category_id, Product.brand)
    ).all()
    return {(c or 0, b): n for c, b, n in rows}


def test_counts_follow_every_kind_of_change(app, db):
    """On PostgreSQL the maintained table equals a count over products after every change;
    on both databases the tree, brand lists and totals read from the counts are right."""
    maintained = db.engine.dialect.name == "postgresql"  # SQLite counts from products
    top = make_category("Computers", slug="computers")
    laptops = make_category("Laptops", parent=top, slug="laptops")
    desktops = make_category("Desktops", parent=top, slug="desktops")
    a = make_product(brand="HP", category=laptops)
    b = make_product(brand="HP", category=laptops)
    c = make_product(brand="DELL", category=desktops)
    make_product(brand="DELL", category=desktops, status="draft")
    loose = make_product(brand="Acme", category=None)
    db.session.commit()
    assert _truth(db) == {(laptops.id, "HP"): 2, (desktops.id, "DELL"): 1, (0, "Acme"): 1}
    if maintained:
        assert _counted(db) == _truth(db)

    b.status = "archived"  # ORM update
    c.brand = "Lenovo"
    db.session.commit()
    db.session.execute(  # Core/raw statements go through the same triggers
        text("UPDATE products SET category_id = :d WHERE id = :i"), {"d": desktops.id, "i": a.id}
    )
    db.session.execute(text("UPDATE products SET status = 'active' WHERE status = 'draft'"))
    db.session.execute(text("UPDATE products SET stock = 0"))  # not counted: no change
    db.session.delete(loose)
    db.session.commit()
    assert _truth(db) == {(desktops.id, "HP"): 1, (desktops.id, "Lenovo"): 1, (desktops.id, "DELL"): 1}
    if maintained:
        assert _counted(db) == _truth(db)

    with app.test_request_context():  # product JSON carries page URLs
        check_reads(laptops, desktops, top)


def check_reads(laptops, desktops, top):
    """The tree, brand lists and totals read from the counts after the changes above."""
    tree = {node["slug"]: node for node in category_tree()}
    assert tree["computers"]["product_count"] == 3
    assert {k["slug"]: k["product_count"] for k in tree["computers"]["children"]} == {
        "desktops": 3,
        "laptops": 0,
    }
    assert brand_counts() == [
        {"brand": "DELL", "count": 1},
        {"brand": "HP", "count": 1},
        {"brand": "Lenovo", "count": 1},
    ]
    assert brand_counts((laptops.id,)) == []
    assert list_products(ProductFilters(category_ids=(top.id, laptops.id, desktops.id)))["total"] == 3
    assert list_products(ProductFilters(brand="HP"))["total"] == 1


def test_a_category_with_leaves_pages_as_one_sorted_list_in_every_order(app, db):
    top = make_category("Printing", slug="printing")
    leaves = [make_category(f"Leaf {n}", parent=top, slug=f"leaf-{n}") for n in range(3)]
    make_product(name="Elsewhere", category=make_category("Other", slug="other"))
    for n in range(40):
        released = None if n % 7 == 0 else datetime(2000 + n % 13, 1 + n % 12, 1, tzinfo=timezone.utc)
        make_product(
            name=f"Item {(n * 17) % 40:02d}",
            price_cents=1000 + (n * 37) % 23 * 100,  # many equal prices: ties broken by id
            category=leaves[n % 3] if n % 5 else top,
            released_at=released,
        )
    db.session.commit()
    ids = (top.id, *(leaf.id for leaf in leaves))
    everything = db.session.scalars(select(Product).where(Product.category_id.in_(ids))).all()

    expected = {
        "name": sorted(everything, key=lambda p: (p.name, p.id)),
        "price_asc": sorted(everything, key=lambda p: (p.price_cents, p.id)),
        "price_desc": sorted(everything, key=lambda p: (-p.price_cents, -p.id)),
        "newest": sorted(
            everything,
            key=lambda p: (
                p.released_at is None,
                -(p.released_at.timestamp() if p.released_at else 0),
                -p.id,
            ),
        ),
    }
    with app.test_request_context():  # product JSON carries page URLs
        check_pages(ids, expected)


def check_pages(ids, expected):
    """Eight pages of 5 in each order, then a price filter, against the expected order."""
    for sort, order in expected.items():
        slugs = [p.slug for p in order]
        pages = [
            list_products(ProductFilters(category_ids=ids, sort=sort, page=page, per_page=5))
            for page in range(1, 9)
        ]
        assert [item["slug"] for page in pages for item in page["items"]] == slugs, sort
        assert pages[0]["total"] == 40 and pages[0]["pages"] == 8
    cheap = list_products(ProductFilters(category_ids=ids, sort="price_asc", max_price=1500, per_page=100))
    assert [p["slug"] for p in cheap["items"]] == [
        p.slug for p in expected["price_asc"] if p.price_cents <= 1500
    ]
    assert cheap["total"] == len(cheap["items"])
