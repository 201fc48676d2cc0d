"""Catalog: the category tree, products and the stock ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.catalog import counts
from shop.dbtypes import JSONType, UTCDateTime, utcnow
from shop.extensions import db

PRODUCT_STATUSES = ("draft", "active", "archived")
#: Why stock changed; every change is one :class:`StockMovement` row.
STOCK_REASONS = ("import", "staff_edit", "order", "cancellation", "refund")
#: 1 to this many units left is "low stock": shoppers are told how many are left, and the
#: staff list and dashboard single such products out. 0 units is out of stock, not low.
LOW_STOCK_THRESHOLD = 5


def is_low_stock(stock: int) -> bool:
    """True for 1 to :data:`LOW_STOCK_THRESHOLD` units (also a Jinja test: ``n is low_stock``)."""
    return 0 < stock <= LOW_STOCK_THRESHOLD


class Category(db.Model):
    """A node of the two-level category tree (``parent_id`` is NULL for top level)."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    position: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Category | None] = relationship(remote_side="Category.id", back_populates="children")
    children: Mapped[list[Category]] = relationship(
        back_populates="parent", order_by="Category.position, Category.name"
    )

    @property
    def full_name(self) -> str:
        """``Parent > Child`` for a leaf, the name for a top-level category."""
        return f"{self.parent.name} > {self.name}" if self.parent else self.name

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"


class Product(db.Model):
    """A sellable item. Money in integer cents of the shop currency; ``stock`` never negative.

    ``name`` is the full display title; ``model`` the short model name or part number.
    Shoppers only ever see ``status == "active"``.
    """

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        CheckConstraint("price_cents >= 0", name="price_non_negative"),
        CheckConstraint("status IN ('draft', 'active', 'archived')", name="status_valid"),
        Index("ix_products_status_category", "status", "category_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    slug: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    model: Mapped[str] = mapped_column(String(255), default="")
    brand: Mapped[str] = mapped_column(String(120), default="", index=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str] = mapped_column(Text, default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    product_type: Mapped[str] = mapped_column(String(120), default="")
    ean: Mapped[str] = mapped_column(String(255), default="")
    price_cents: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    #: Shipping weight in grams (None: unknown; weight-priced shipping is then not offered).
    weight_grams: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="active")
    image_url: Mapped[str] = mapped_column(String(500), default="")
    #: What the last catalog import set (``{name, price_cents, category_id, status}``), so a
    #: re-import can tell staff edits from its own values; None before the first such import.
    imported_values: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    category: Mapped[Category | None] = relationship()

    @property
    def in_stock(self) -> bool:
        """True when at least one unit can be ordered."""
        return self.stock > 0

    @property
    def is_active(self) -> bool:
        """True when shoppers may see and buy the product."""
        return self.status == "active"

    @hybrid_property
    def low_stock(self) -> bool:
        """True for 1 to :data:`LOW_STOCK_THRESHOLD` units; in a query, the same condition."""
        return is_low_stock(self.stock)

    @low_stock.inplace.expression
    @classmethod
    def _low_stock_expression(cls):
        return cls.stock.between(1, LOW_STOCK_THRESHOLD)

    @classmethod
    def active(cls):
        """A select of active products, for views to filter, sort and paginate."""
        return select(cls).where(cls.status == "active")

    def __repr__(self) -> str:
        return f"<Product {self.sku} {self.stock} @ {self.price_cents}>"


# Shoppers' listings read active products in one order or another, over the whole catalog
# or per category: each order has a partial index that serves it (shop.catalog.counts).
counts.install_listing_indexes(Product.__table__)


class ProductCount(db.Model):
    """How many active products a category (0: none) has of a brand; kept by the database
    itself (``shop.catalog.counts``), read for navigation counts, totals and brand filters."""

    __tablename__ = "product_counts"
    __table_args__ = (UniqueConstraint("category_id", "brand"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(Integer)
    brand: Mapped[str] = mapped_column(String(120))
    active: Mapped[int] = mapped_column(Integer, default=0)


# The triggers live on ``products``: create the table (and them) after it.
ProductCount.__table__.add_is_dependent_on(Product.__table__)
counts.install_on_create(ProductCount.__table__)


class StockMovement(db.Model):
    """One change to a product's stock: the stock ledger.

    Invariant: for every product, ``Product.stock == sum(StockMovement.delta)``.
    ``reason`` is one of :data:`STOCK_REASONS`; ``actor_id`` is who caused it (NULL for
    imports and guests); ``order_id`` is set for order and cancellation rows.
    """

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint(
            "reason IN ('import', 'staff_edit', 'order', 'cancellation', 'refund')", name="reason_valid"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    delta: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


#: Where a spreadsheet import stands: previewed (waiting for confirmation), queued, running,
#: applied, refused (the catalog changed since the preview) or failed (an error while applying).
PRODUCT_IMPORT_STATUSES = ("previewed", "queued", "running", "applied", "refused", "failed")


class ProductImport(db.Model):
    """A spreadsheet of products uploaded by staff: its preview, then what applying it did.

    ``plan`` holds the rows to apply (``[{line, sku, action, product_id, changes, stock,
    expected_stock, seen}]``; see :mod:`shop.catalog.spreadsheets`), ``problems`` every
    failing row (``[{line, column, sku, reason, conflict}]``), ``counts`` the preview's
    ``{create, update, unchanged, failed, conflicts}``, ``fingerprint`` a hash of the affected
    products' ``updated_at`` and stock when previewed, ``result`` what applying did.
    ``processed``/``total`` is the progress of planning (rows of the file, ``total`` an
    estimate) while ``planning``, then of applying (rows of the plan).
    """

    __tablename__ = "product_imports"
    __table_args__ = (
        CheckConstraint(
            "status IN ('planning', 'previewed', 'queued', 'running', 'applied', 'refused', 'failed')",
            name="status_valid",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(20), default="previewed")
    plan: Mapped[list[Any]] = mapped_column(JSONType, default=list, deferred=True)  # large: read when used
    problems: Mapped[list[Any]] = mapped_column(JSONType, default=list, deferred=True)
    warnings: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def finished(self) -> bool:
        """True once applying ended (applied, refused or failed)."""
        return self.status in ("applied", "refused", "failed")

    @property
    def busy(self) -> bool:
        """True while a job works on it: planning the preview, or applying it."""
        return self.status in ("planning", "queued", "running")


class ProductImportUpload(db.Model):
    """The uploaded file of a :class:`ProductImport` while its preview is being planned
    (deleted once planned). A table of its own: the import's row is updated with the
    progress every thousand rows, and SQLite rewrites a whole row, file included, on update."""

    __tablename__ = "product_import_uploads"

    import_id: Mapped[int] = mapped_column(
        ForeignKey("product_imports.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)
