"""product imports: staff spreadsheets of products, previewed then applied; what the catalog
import last set on each product

Revision ID: 0016_product_imports
Revises: 0015_dashboard_indexes
Create Date: 2026-11-30

``product_imports`` keeps each uploaded spreadsheet's preview (the plan, failing rows, a
fingerprint of the affected products) and, once confirmed, the progress and result of
applying it. ``products.imported_values`` records what the last catalog import set, so the
next one keeps staff edits. On SQLite the column is added with a plain ALTER TABLE: batch
mode would rebuild ``products`` and break its search triggers.
"""

import sqlalchemy as sa
from alembic import op

import shop.dbtypes

# revision identifiers, used by Alembic.
revision = "0016_product_imports"
down_revision = "0015_dashboard_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "product_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("plan", shop.dbtypes.JSONType(), nullable=False),
        sa.Column("problems", shop.dbtypes.JSONType(), nullable=False),
        sa.Column("warnings", shop.dbtypes.JSONType(), nullable=False),
        sa.Column("counts", shop.dbtypes.JSONType(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("result", shop.dbtypes.JSONType(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", shop.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('previewed', 'queued', 'running', 'applied', 'refused', 'failed')",
            name=op.f("ck_product_imports_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_product_imports_actor_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_imports")),
    )
    op.add_column("products", sa.Column("imported_values", shop.dbtypes.JSONType(), nullable=True))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+), again without rebuilding ``products``.
    op.drop_column("products", "imported_values")
    op.drop_table("product_imports")
