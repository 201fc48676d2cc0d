"""import uploads: an uploaded product sheet is kept while a background job plans its preview

Revision ID: 0021_import_uploads
Revises: 0020_sales_day_marks
Create Date: 2026-11-30

``product_import_uploads`` holds the file until its preview is planned (then the row is
deleted), and the status ``planning`` is allowed. ``product_imports`` has no triggers and nothing
refers to it, so on SQLite the batch rebuild that changes its check constraint is safe.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0021_import_uploads"
down_revision = "0020_sales_day_marks"
branch_labels = None
depends_on = None

OLD = "status IN ('previewed', 'queued', 'running', 'applied', 'refused', 'failed')"
NEW = "status IN ('planning', 'previewed', 'queued', 'running', 'applied', 'refused', 'failed')"


def upgrade():
    with op.batch_alter_table("product_imports", recreate="always") as batch:
        batch.drop_constraint(op.f("ck_product_imports_status_valid"), type_="check")
        batch.create_check_constraint("status_valid", NEW)
    op.create_table(
        "product_import_uploads",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["product_imports.id"],
            name=op.f("fk_product_import_uploads_import_id_product_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_id", name=op.f("pk_product_import_uploads")),
    )


def downgrade():
    op.drop_table("product_import_uploads")
    op.execute("UPDATE product_imports SET status = 'failed' WHERE status = 'planning'")
    with op.batch_alter_table("product_imports", recreate="always") as batch:
        batch.drop_constraint(op.f("ck_product_imports_status_valid"), type_="check")
        batch.create_check_constraint("status_valid", OLD)
