"""Admin pages for products: list with search and filters, create, edit, archive.

Thin views: each parses a form, calls one service from ``shop.catalog.editing``, commits,
and maps the service's exceptions back onto the form (422 for invalid fields, 409 for a
duplicate SKU or a stale stock figure).
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from shop.admin import bp
from shop.admin.forms import ArchiveForm, ProductFilterForm, ProductForm, cents_to_input
from shop.auth.guards import staff_required
from shop.catalog import editing
from shop.catalog.models import Category, Product
from shop.catalog.staff_filters import filter_products
from shop.exceptions import Conflict, ShopError, StaleWrite, ValidationFailed
from shop.extensions import db
from shop.transaction import unit_of_work
from shop.webforms import apply_errors

PER_PAGE = 50
_SORTS = {
    "name": (func.lower(Product.name), Product.id),
    "newest": (Product.created_at.desc(), Product.id.desc()),
    "price": (Product.price_cents, Product.id),
    "stock": (Product.stock, func.lower(Product.name), Product.id),
    "sku": (Product.sku,),
}
# Service field names that the form shows under another name.
_FORM_FIELD = {"price_cents": "price"}


def product_query(q: str = "", status: str = "", stock: str = "", sort: str = "name"):
    """A select of products for the staff list.

    Args:
        q: matched case-insensitively anywhere in name, SKU or brand.
        status: one of the product statuses, or "" for all.
        stock: ``"out"`` (0), ``"low"`` (1 to ``LOW_STOCK_THRESHOLD``) or "" for any.
        sort: a key of ``_SORTS`` (unknown keys sort by name).
    """
    stmt = select(Product).options(joinedload(Product.category).joinedload(Category.parent))
    return filter_products(stmt, q, status, stock).order_by(*_SORTS.get(sort, _SORTS["name"]))


def _get_product(product_id: int) -> Product:
    """The product or a 404 page."""
    product = db.session.get(Product, product_id)
    if product is None:
        abort(404)
    return product


def _show_errors(form: ProductForm, exc: ShopError) -> None:
    """Show a service's field errors inline; errors without a form field become a flash."""
    leftovers = apply_errors(form, exc, field_names=_FORM_FIELD)
    if leftovers or not exc.errors:
        flash(exc.detail, "danger")


@bp.get("/products")
@staff_required
def product_list():
    """All products (every status), searchable by name, SKU or brand; 50 a page."""
    form = ProductFilterForm(request.args)
    form.validate()
    args = {
        name: (form[name].data or "") if not form[name].errors else ""
        for name in ("q", "status", "stock", "sort")
    }
    page = request.args.get("page", 1, type=int) or 1
    pagination = db.paginate(
        product_query(**args), page=max(page, 1), per_page=PER_PAGE, error_out=False, count=True
    )
    filters = {k: v for k, v in args.items() if v and not (k == "sort" and v == "name")}
    return render_template(
        "admin/products/list.html",
        form=form,
        pagination=pagination,
        products=pagination.items,
        filters=filters,
    )


@bp.route("/products/new", methods=["GET", "POST"])
@staff_required
def product_create():
    """Create a product; the price is typed in human units and stored in cents."""
    form = ProductForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                product = editing.create_product(form.product_data(), current_user.id)
        except (ValidationFailed, Conflict) as exc:
            _show_errors(form, exc)
            return render_template("admin/products/form.html", form=form, product=None), exc.status
        flash(f"Product {product.sku} created.", "success")
        return redirect(url_for("admin.product_edit", product_id=product.id))
    status = 422 if form.is_submitted() else 200
    return render_template("admin/products/form.html", form=form, product=None), status


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@staff_required
def product_edit(product_id: int):
    """Edit a product. The stock is compare-and-swap: a sale since loading refuses the save."""
    product = _get_product(product_id)
    if request.method == "GET":
        form = ProductForm(
            obj=product, price=cents_to_input(product.price_cents), expected_stock=product.stock
        )
        return render_template("admin/products/form.html", form=form, product=product)
    form = ProductForm()
    valid = form.validate_on_submit()
    if form.expected_stock.data is None:  # without the figure shown, a sale could be overwritten
        form.show_current_stock(product.stock)
        form.stock.errors = [*form.stock.errors, f"Stock is {product.stock}; check it and save again."]
        valid = False
    if not valid:
        return render_template("admin/products/form.html", form=form, product=product), 422
    try:
        with unit_of_work():
            editing.update_product(
                product.id, form.product_data(), current_user.id, expected_stock=form.expected_stock.data
            )
    except StaleWrite as exc:
        current = db.session.scalar(select(Product.stock).where(Product.id == product_id))
        seen = form.expected_stock.data
        form.show_current_stock(current)
        form.stock.errors = [
            *form.stock.errors,
            f"Stock is now {current} (it was {seen} when you opened this page).",
        ]
        flash(
            f"Not saved: the stock of {product.sku} changed from {seen} to {current} while you "
            f"were editing (for example a sale). Check the figure and save again.",
            "warning",
        )
        current_app.logger.info("stale stock edit refused: %s", exc.detail)
        return render_template("admin/products/form.html", form=form, product=product), 409
    except (ValidationFailed, Conflict) as exc:
        _show_errors(form, exc)
        return render_template("admin/products/form.html", form=form, product=product), exc.status
    flash(f"Product {product.sku} saved.", "success")
    return redirect(url_for("admin.product_edit", product_id=product.id))


@bp.route("/products/<int:product_id>/archive", methods=["GET", "POST"])
@staff_required
def product_archive(product_id: int):
    """Ask for confirmation (GET), then archive (POST): shoppers no longer see the product."""
    product = _get_product(product_id)
    form = ArchiveForm()
    if form.validate_on_submit():
        editing.archive_product(product.id, current_user.id)
        db.session.commit()
        flash(f"Product {product.sku} archived; shoppers no longer see it.", "success")
        return redirect(url_for("admin.product_list"))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/products/archive.html", form=form, product=product), status
