"""Factories for test data: plain functions that add rows and flush."""

from __future__ import annotations

import itertools

from shop.auth import services as auth_services
from shop.catalog.models import Category, Product, StockMovement
from shop.extensions import db

_seq = itertools.count(1)
PASSWORD = "correct horse battery"


def make_user(email: str | None = None, password: str = PASSWORD, role: str = "customer", name: str = "Test User"):
    """Create a user with a known password."""
    n = next(_seq)
    user = auth_services.register_user(email or f"user{n}@example.com", password, name=name, role=role)
    db.session.flush()
    return user


def make_category(name: str = "Laptops", parent: Category | None = None, slug: str | None = None) -> Category:
    """Create a category (a leaf when ``parent`` is given)."""
    n = next(_seq)
    cat = Category(name=name, slug=slug or f"{name.lower().replace(' ', '-')}-{n}", parent=parent)
    db.session.add(cat)
    db.session.flush()
    return cat


def make_product(name: str | None = None, price_cents: int = 5295, stock: int = 10,
                 status: str = "active", category: Category | None = None, brand: str = "Acme",
                 sku: str | None = None, **kwargs) -> Product:
    """Create a product; its stock is recorded in the ledger as an import."""
    n = next(_seq)
    product = Product(
        sku=sku or f"SKU{n:06d}",
        slug=kwargs.pop("slug", None) or f"product-{n}",
        name=name or f"Test product {n}",
        brand=brand,
        category=category,
        price_cents=price_cents,
        stock=stock,
        status=status,
        **kwargs,
    )
    db.session.add(product)
    db.session.flush()
    if stock:
        db.session.add(StockMovement(product_id=product.id, delta=stock, reason="import"))
        db.session.flush()
    return product
