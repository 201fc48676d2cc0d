"""pricing: shipping methods, tax rates, discount codes; orders keep their breakdown

Revision ID: 0009_pricing
Revises: 0008_address_book
Create Date: 2026-12-03

Orders used to carry only a subtotal and a free shipping line. Staff now manage shipping
methods, tax rates and discount codes, and each order keeps the breakdown it was placed
with (discount, shipping, tax, each line's discount and tax, the method's name, the rate
and the code) as a snapshot. Existing orders keep their figures: the new money columns
start at 0 and their total (subtotal + shipping) is still right. Products gain an optional
shipping weight in grams; a cart remembers the discount code typed on the cart page.
"""

from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

import shop.dbtypes

# revision identifiers, used by Alembic.
revision = "0009_pricing"
down_revision = "0008_address_book"
branch_labels = None
depends_on = None


@contextmanager
def _rebuilding_safely():
    """On SQLite, batch mode rebuilds ``orders`` (copy, drop, rename); with foreign keys
    enforced, dropping the old table would first delete its rows and cascade to every
    order's lines and events. Enforcement is switched off around the rebuild, outside a
    transaction as SQLite requires (Alembic's batch documentation, "Dealing with
    Referencing Foreign Keys"), and checked afterwards."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        with op.get_context().autocommit_block():
            op.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        if sqlite:
            with op.get_context().autocommit_block():
                op.execute("PRAGMA foreign_keys=ON")
    if sqlite and op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
        raise RuntimeError("rebuilding orders left rows whose references do not resolve")


def upgrade():
    op.create_table(
        "shipping_methods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("countries", shop.dbtypes.JSONType(), nullable=False),
        sa.Column("rate_kind", sa.String(length=10), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("bands", shop.dbtypes.JSONType(), nullable=False),
        sa.Column("free_above_cents", sa.Integer(), nullable=True),
        sa.Column("min_days", sa.Integer(), nullable=False),
        sa.Column("max_days", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "rate_kind IN ('flat', 'subtotal', 'weight')", name=op.f("ck_shipping_methods_rate_kind_valid")
        ),
        sa.CheckConstraint(
            "min_days >= 0 AND max_days >= min_days", name=op.f("ck_shipping_methods_days_valid")
        ),
        sa.CheckConstraint("price_cents >= 0", name=op.f("ck_shipping_methods_price_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_methods")),
    )
    op.create_table(
        "tax_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000", name=op.f("ck_tax_rates_rate_bp_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_rates")),
        sa.UniqueConstraint("country", "region", name="uq_tax_rates_country_region"),
    )
    op.create_table(
        "discount_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("min_subtotal_cents", sa.Integer(), nullable=False),
        sa.Column("starts_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("max_uses_per_customer", sa.Integer(), nullable=True),
        sa.Column("times_used", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind <> 'percentage' OR value <= 10000", name=op.f("ck_discount_codes_percentage_at_most_all")
        ),
        sa.CheckConstraint("kind IN ('percentage', 'fixed')", name=op.f("ck_discount_codes_kind_valid")),
        sa.CheckConstraint(
            "max_uses IS NULL OR times_used <= max_uses", name=op.f("ck_discount_codes_times_used_within_max")
        ),
        sa.CheckConstraint("times_used >= 0", name=op.f("ck_discount_codes_times_used_non_negative")),
        sa.CheckConstraint("value > 0", name=op.f("ck_discount_codes_value_positive")),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_discount_codes_category_id_categories"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_discount_codes_code")),
    )
    op.create_table(
        "discount_redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("created_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["code_id"],
            ["discount_codes.id"],
            name=op.f("fk_discount_redemptions_code_id_discount_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_discount_redemptions_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_discount_redemptions_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_redemptions")),
        sa.UniqueConstraint("order_id", name=op.f("uq_discount_redemptions_order_id")),
    )
    with op.batch_alter_table("discount_redemptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_discount_redemptions_code_id"), ["code_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_discount_redemptions_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_discount_redemptions_user_id"), ["user_id"], unique=False)

    op.add_column("carts", sa.Column("discount_code", sa.String(length=40), nullable=True))
    for name in ("discount_cents", "tax_cents", "tax_rate_bp"):
        op.add_column(
            "order_lines", sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    for name in ("discount_cents", "tax_cents", "shipping_tax_cents", "tax_rate_bp"):
        op.add_column("orders", sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.add_column(
        "orders", sa.Column("prices_include_tax", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("orders", sa.Column("tax_name", sa.String(length=50), nullable=False, server_default=""))
    op.add_column(
        "orders", sa.Column("shipping_method_name", sa.String(length=100), nullable=False, server_default="")
    )
    op.add_column(
        "orders", sa.Column("discount_code", sa.String(length=40), nullable=False, server_default="")
    )
    with _rebuilding_safely(), op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shipping_method_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_orders_shipping_method_id_shipping_methods",
            "shipping_methods",
            ["shipping_method_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # A plain ADD COLUMN, no table rebuild: SQLite's search triggers name the products table.
    op.add_column("products", sa.Column("weight_grams", sa.Integer(), nullable=True))


def downgrade():
    with _rebuilding_safely(), op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint("fk_orders_shipping_method_id_shipping_methods", type_="foreignkey")
        batch_op.drop_column("shipping_method_id")
    for table, names in (
        ("products", ("weight_grams",)),
        (
            "orders",
            (
                "discount_code",
                "shipping_method_name",
                "tax_rate_bp",
                "tax_name",
                "prices_include_tax",
                "shipping_tax_cents",
                "tax_cents",
                "discount_cents",
            ),
        ),
        ("order_lines", ("tax_rate_bp", "tax_cents", "discount_cents")),
        ("carts", ("discount_code",)),
    ):
        for name in names:
            op.drop_column(table, name)

    with op.batch_alter_table("discount_redemptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discount_redemptions_user_id"))
        batch_op.drop_index(batch_op.f("ix_discount_redemptions_email"))
        batch_op.drop_index(batch_op.f("ix_discount_redemptions_code_id"))

    op.drop_table("discount_redemptions")
    op.drop_table("discount_codes")
    op.drop_table("tax_rates")
    op.drop_table("shipping_methods")
