"""Factories for test data: plain functions that add rows and flush."""

from __future__ import annotations

import itertools

from shop.auth import services as auth_services
from shop.catalog.models import Category, Product, StockMovement
from shop.extensions import db

_seq = itertools.count(1)
PASSWORD = "correct horse battery"


def make_user(
    email: str | None = None, password: str = PASSWORD, role: str = "customer", name: str = "Test User"
):
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


def make_product(
    name: str | None = None,
    price_cents: int = 5295,
    stock: int = 10,
    status: str = "active",
    category: Category | None = None,
    brand: str = "Acme",
    sku: str | None = None,
    **kwargs,
) -> Product:
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


def sign_in(client, user) -> str:
    """Sign ``client`` in as ``user`` without the login page: a new, committed login whose
    secret goes into the session the way Flask-Login puts it there. Returns the secret."""
    from shop.auth import logins

    secret = logins.start_login(user)
    db.session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = secret
        sess["_fresh"] = True
    return secret


def bearer_headers(user, scopes: list[str] | None = None) -> dict:
    """``Authorization`` header with a new, committed API token of ``user``."""
    _token, secret = auth_services.create_api_token(user, scopes=scopes)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def stock_and_ledger(product_id: int) -> tuple[int, int]:
    """``(stock, sum of the stock ledger)`` of a product, read fresh from the database."""
    from sqlalchemy import func, select

    db.session.expire_all()
    stock = db.session.scalar(select(Product.stock).where(Product.id == product_id))
    ledger = db.session.scalar(
        select(func.coalesce(func.sum(StockMovement.delta), 0)).where(StockMovement.product_id == product_id)
    )
    return stock, int(ledger)


def page_text(resp) -> str:
    """A response body as text with HTML entities decoded."""
    import html

    return html.unescape(resp.get_data(as_text=True))


#: A valid shipping address (US, with a region) for orders placed in tests.
ADDRESS = {
    "name": "Grace Hopper",
    "line1": "1 Navy Way",
    "city": "Arlington",
    "region": "VA",
    "postal_code": "22202",
    "country": "US",
}

#: A valid shipping address in the United Kingdom (no region).
GB_ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "12 St James Sq",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}


def make_address(user, make_default: bool = False, **fields):
    """Save an address in ``user``'s address book (:data:`ADDRESS` with ``fields`` changed)."""
    from shop.addresses import services as address_services

    address = address_services.add_address(user.id, {**ADDRESS, **fields}, make_default=make_default)
    db.session.flush()
    return address
