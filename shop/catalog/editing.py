"""Product write services: create, update and archive products.

Used by the staff pages under ``/admin`` and by the catalog API's ``PATCH``. Rules:

- Services validate plain data, flush and never commit: the caller owns the transaction
  and rolls it back when a service raises.
- Money is integer cents of the shop currency (``price_cents``), never a float.
- Stock only changes through :func:`shop.catalog.stock.set_stock`, so every change has a
  ledger row (reason ``"staff_edit"``, with the actor) and staff edits are
  compare-and-swap against the figure the editor saw.
- ``slug`` is made once from the name (python-slugify), unique, and stays stable when the
  product is renamed, so shared links keep working.
- Cache invalidation is automatic: ORM changes to products bump the catalog version after
  commit (``shop.cache``).
"""

from __future__ import annotations

from typing import Any

from slugify import slugify
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shop import audit
from shop.catalog.models import PRODUCT_STATUSES, Category, Product
from shop.catalog.stock import set_stock
from shop.exceptions import Conflict, NotFound, ValidationFailed
from shop.extensions import db

#: Keys accepted by :func:`create_product` and :func:`update_product`.
EDITABLE_FIELDS = (
    "sku",
    "name",
    "brand",
    "model",
    "description",
    "category_id",
    "price_cents",
    "stock",
    "status",
    "image_url",
    "weight_grams",
)
#: Text fields and their maximum lengths (the column sizes).
_TEXT_LIMITS = {
    "sku": 64,
    "name": 500,
    "brand": 120,
    "model": 255,
    "description": 20000,
    "image_url": 500,
}
_REQUIRED_TEXT = ("sku", "name")
#: The fields an audit entry of a new product lists (its stock has an entry of its own).
_AUDITED = tuple(f for f in EDITABLE_FIELDS if f != "stock")
_SLUG_MAX = 200


def _is_int(value: Any) -> bool:
    """True for real integers (``bool`` is not accepted as a number)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _clean(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    """Validate and normalize product fields.

    Args:
        data: a subset of :data:`EDITABLE_FIELDS` (all required ones when ``creating``).
        creating: True for a new product (``sku``, ``name`` and ``price_cents`` required).
    Returns:
        The cleaned values (text stripped, ``category_id`` None for "no category").
    Raises:
        ValidationFailed: unknown keys or invalid values, with ``errors`` per field.
    """
    errors = _unknown_or_missing(data, creating)
    clean: dict[str, Any] = {}
    for key, limit in _TEXT_LIMITS.items():
        if key in data:
            _clean_text(key, data[key], limit, clean, errors)
    for key in ("price_cents", "stock"):
        if key in data:
            _clean_count(key, data[key], creating, clean, errors)
    if "status" in data:
        _clean_status(data["status"], clean, errors)
    if "category_id" in data:
        _clean_category(data["category_id"], clean, errors)
    if "weight_grams" in data:
        _clean_weight(data["weight_grams"], clean, errors)
    if errors:
        raise ValidationFailed("Some product fields are invalid.", errors)
    return clean


def _add_error(errors: dict[str, list[str]], key: str, message: str) -> None:
    """Append ``message`` to the field's errors."""
    errors.setdefault(key, []).append(message)


def _unknown_or_missing(data: dict[str, Any], creating: bool) -> dict[str, list[str]]:
    """Errors for keys that are not editable fields and, when creating, required ones left out."""
    errors = {key: ["Unknown field."] for key in sorted(set(data) - set(EDITABLE_FIELDS))}
    if creating:
        for key in ("sku", "name", "price_cents"):
            if data.get(key) is None:
                _add_error(errors, key, "Required.")
    return errors


def _clean_text(key: str, value: Any, limit: int, clean: dict, errors: dict) -> None:
    """A text field: stripped into ``clean``, or its problem into ``errors``."""
    if value is None:
        if key not in _REQUIRED_TEXT:
            clean[key] = ""  # None clears an optional text field
        elif not errors.get(key):  # a missing required field already says "Required."
            _add_error(errors, key, "Required.")
        return
    if not isinstance(value, str):
        _add_error(errors, key, "Must be text.")
        return
    value = value.strip()
    problem = _text_problem(key, value, limit)
    if problem:
        _add_error(errors, key, problem)
    else:
        clean[key] = value


def _text_problem(key: str, value: str, limit: int) -> str | None:
    """What is wrong with a stripped text value, or None."""
    if key in _REQUIRED_TEXT and not value:
        return "Required."
    if len(value) > limit:
        return f"At most {limit} characters."
    if key == "image_url" and value and not value.lower().startswith(("https://", "http://")):
        return "Must be an http(s) URL."
    return None


def _clean_count(key: str, value: Any, creating: bool, clean: dict, errors: dict) -> None:
    """``price_cents`` or ``stock``: a whole number >= 0. None is refused on an edit; on a
    create it means the default (a missing price was already reported)."""
    if value is None:
        if not creating:
            _add_error(errors, key, "Required.")
    elif not _is_int(value) or value < 0:
        _add_error(errors, key, "Must be a whole number, 0 or more.")
    else:
        clean[key] = value


def _clean_status(value: Any, clean: dict, errors: dict) -> None:
    """One of :data:`PRODUCT_STATUSES`."""
    if value not in PRODUCT_STATUSES:
        _add_error(errors, "status", "Must be one of: " + ", ".join(PRODUCT_STATUSES) + ".")
    else:
        clean["status"] = value


def _clean_category(value: Any, clean: dict, errors: dict) -> None:
    """An existing category's id, or None for no category."""
    if value is None:
        clean["category_id"] = None
    elif not _is_int(value) or db.session.get(Category, value) is None:
        _add_error(errors, "category_id", "No such category.")
    else:
        clean["category_id"] = value


def _clean_weight(value: Any, clean: dict, errors: dict) -> None:
    """The shipping weight: whole grams >= 0, or None for unknown."""
    if value is not None and (not _is_int(value) or value < 0):
        _add_error(errors, "weight_grams", "Must be a whole number of grams, 0 or more.")
    else:
        clean["weight_grams"] = value


def _check_sku_free(sku: str, product_id: int | None = None) -> None:
    """Raise Conflict if another product already uses ``sku``."""
    query = select(Product.id).where(Product.sku == sku)
    if product_id is not None:
        query = query.where(Product.id != product_id)
    if db.session.scalar(query) is not None:
        raise Conflict(
            f"SKU {sku} is already used by another product.", {"sku": ["Already used by another product."]}
        )


def unique_slug(name: str, sku: str = "") -> str:
    """A slug for ``name`` that no product uses yet (``name``, then ``name-sku``, ``name-2``...)."""
    base = slugify(name, max_length=_SLUG_MAX, word_boundary=True) or slugify(sku) or "product"
    candidates = [base]
    if sku:
        candidates.append(f"{base}-{slugify(sku)}"[:250])
    candidates.extend(f"{base}-{n}" for n in range(2, 1000))
    taken = set(db.session.scalars(select(Product.slug).where(Product.slug.like(base + "%"))))
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    raise Conflict("Could not make a unique slug for this name.")  # pragma: no cover


def _flush_or_conflict() -> None:
    """Flush; turn a unique-constraint race (SKU or slug) into Conflict."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "Another product with the same SKU was saved at the same time.",
            {"sku": ["Already used by another product."]},
        ) from exc


def create_product(data: dict[str, Any], actor_id: int | None) -> Product:
    """Create a product and record its initial stock in the ledger.

    Args:
        data: ``{sku, name, price_cents}`` required; optional ``brand``, ``model``,
            ``description``, ``category_id`` (int or None), ``stock`` (int >= 0, default 0),
            ``status`` (draft/active/archived, default ``"draft"``), ``image_url`` (http(s)),
            ``weight_grams`` (shipping weight, int >= 0 or None for unknown).
            ``price_cents`` is an int of minor units of the shop currency, e.g. 5295 = 52.95.
        actor_id: the staff user creating it (ledger row actor), or None for scripts.
    Returns:
        The new, flushed :class:`Product` (slug set, ``stock`` current).
    Raises:
        ValidationFailed: missing or invalid fields (``errors`` per field).
        Conflict: the SKU is already taken.
    """
    clean = _clean(data, creating=True)
    _check_sku_free(clean["sku"])
    stock = clean.pop("stock", 0)
    product = Product(
        sku=clean["sku"],
        slug=unique_slug(clean["name"], clean["sku"]),
        name=clean["name"],
        brand=clean.get("brand", ""),
        model=clean.get("model", ""),
        description=clean.get("description", ""),
        category_id=clean.get("category_id"),
        price_cents=clean["price_cents"],
        stock=0,
        status=clean.get("status", "draft"),
        image_url=clean.get("image_url", ""),
        weight_grams=clean.get("weight_grams"),
    )
    db.session.add(product)
    _flush_or_conflict()
    audit.record(
        "product.create",
        "product",
        product.id,
        product.sku,
        audit.diff({}, audit.snapshot(product, _AUDITED)),
        actor_id,
    )
    if stock:
        set_stock(
            product.id, stock, expected_stock=0, actor_id=actor_id, reason="staff_edit", note="initial stock"
        )
        db.session.expire(product, ["stock"])
    return product


def update_product(
    product_id: int, changes: dict[str, Any], actor_id: int | None, expected_stock: int | None = None
) -> Product:
    """Apply ``changes`` to a product; stock goes through the ledger with a compare-and-swap.

    Args:
        product_id: the product's id.
        changes: any subset of :data:`EDITABLE_FIELDS`, same types as :func:`create_product`
            (``price_cents`` int cents). The slug does not change on rename.
        actor_id: the staff user editing (ledger row actor), or None.
        expected_stock: the stock the editor saw. When given and ``stock`` is in
            ``changes``, the edit is refused if the stock moved meanwhile (e.g. a sale).
            None applies the new stock without that guard.
    Returns:
        The updated, flushed :class:`Product` (``stock`` reloaded).
    Raises:
        NotFound: no such product.
        ValidationFailed: invalid fields (``errors`` per field).
        Conflict: the new SKU belongs to another product.
        StaleWrite: the stock is no longer ``expected_stock``; ``detail`` and
            ``errors["stock"]`` give the current figure. Nothing was changed.
    """
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("No such product.")
    clean = _clean(changes, creating=False)
    if "sku" in clean and clean["sku"] != product.sku:
        _check_sku_free(clean["sku"], product_id)
    new_stock = clean.pop("stock", None)
    before = audit.snapshot(product, list(clean))
    if new_stock is not None:
        # Stock first: a stale figure refuses the whole edit before anything else changes.
        set_stock(product_id, new_stock, expected_stock, actor_id, reason="staff_edit")
        db.session.expire(product, ["stock"])
    for key, value in clean.items():
        if getattr(product, key) != value:
            setattr(product, key, value)
    _flush_or_conflict()
    if changed := audit.diff(before, audit.snapshot(product, list(clean))):
        audit.record("product.update", "product", product.id, product.sku, changed, actor_id)
    return product


def archive_product(product_id: int, actor_id: int | None = None) -> Product:
    """Archive a product: shoppers no longer see or buy it; orders keep their line copies.

    Archiving an archived product changes nothing. The stock is left as it is (and the
    ledger untouched), so un-archiving later restores the product as it was.

    Args:
        product_id: the product's id.
        actor_id: the staff user archiving (for the audit log), or None.
    Returns:
        The flushed, archived :class:`Product`.
    Raises:
        NotFound: no such product.
    """
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("No such product.")
    if product.status != "archived":
        audit.record(
            "product.archive",
            "product",
            product.id,
            product.sku,
            {"status": [product.status, "archived"]},
            actor_id,
        )
        product.status = "archived"
        db.session.flush()
    return product
