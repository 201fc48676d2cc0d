"""Helpers shared by every JSON endpoint: envelopes and pagination (DESIGN.md conventions)."""

from __future__ import annotations

from typing import Any, Callable

from flask import current_app, request, url_for
from marshmallow import Schema, fields
from sqlalchemy import Select, func, select

from shop.exceptions import ValidationFailed
from shop.extensions import db


def envelope(data: Any, status: int = 200, headers: dict | None = None):
    """Wrap a single resource: ``{"data": ...}``."""
    return {"data": data}, status, headers or {}


def page_args(default_per_page: int = 24) -> tuple[int, int]:
    """Read ``page`` and ``per_page`` from the query string.

    Returns:
        ``(page, per_page)``, page >= 1 and 1 <= per_page <= ``API_MAX_PER_PAGE``.
    Raises:
        ValidationFailed: if either is not a positive integer.
    """
    errors: dict[str, list[str]] = {}
    values = {}
    for name, default in (("page", 1), ("per_page", default_per_page)):
        raw = request.args.get(name)
        if raw in (None, ""):
            values[name] = default
            continue
        try:
            values[name] = int(raw)
            if values[name] < 1:
                raise ValueError
        except ValueError:
            errors[name] = ["Must be a positive integer."]
    if errors:
        raise ValidationFailed("Invalid pagination parameters.", errors)
    per_page = min(values["per_page"], current_app.config["API_MAX_PER_PAGE"])
    page = min(values["page"], 100_000)
    return page, per_page


def collection(
    items: list,
    page: int,
    per_page: int,
    total: int,
    endpoint: str | None = None,
    extra_meta: dict | None = None,
    **url_args,
):
    """Wrap a page of a collection with ``meta`` and ``links`` (next/prev or None)."""
    endpoint = endpoint or request.endpoint
    args = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
    args.update(url_args)
    pages = max(1, -(-total // per_page))
    links = {
        "self": url_for(endpoint, page=page, per_page=per_page, **args),
        "next": url_for(endpoint, page=page + 1, per_page=per_page, **args) if page < pages else None,
        "prev": url_for(endpoint, page=page - 1, per_page=per_page, **args) if page > 1 else None,
    }
    meta = {"page": page, "per_page": per_page, "total": total, "pages": pages}
    if extra_meta:
        meta.update(extra_meta)
    return {"data": items, "meta": meta, "links": links}


def paginate_select(stmt: Select, page: int, per_page: int, serialize: Callable[[Any], dict]):
    """Run ``stmt`` for one page and count its total.

    Returns:
        ``(items, total)`` with items already serialized.
    """
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return [serialize(r) for r in rows], int(total or 0)


class PageMetaSchema(Schema):
    """``meta`` of a collection: ``{page, per_page, total, pages}``."""

    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer()


class PageLinksSchema(Schema):
    """``links`` of a collection: URLs of this, the next and the previous page (None at the ends)."""

    self = fields.String()
    next = fields.String(required=True, allow_none=True)
    prev = fields.String(required=True, allow_none=True)
