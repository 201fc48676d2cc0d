"""Checking staff input for the pricing services: field errors collected per field, the
shared rules for text, whole numbers and country codes, and flushes that turn a unique
clash into a Conflict."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pycountry
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shop import audit
from shop.exceptions import Conflict, NotFound, ValidationFailed
from shop.extensions import db
from shop.transaction import is_unique_clash


class Errors(dict):
    """``{field: [messages]}`` collected while checking a record."""

    def add(self, field: str, message: str) -> None:
        """Add one message to ``field``."""
        self.setdefault(field, []).append(message)

    def raise_if_any(self, detail: str) -> None:
        """Raise ValidationFailed with the collected errors, if there are any."""
        if self:
            raise ValidationFailed(detail, dict(self))


def is_int(value: Any) -> bool:
    """True for real integers (``bool`` is not a number here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def merged(row, fields: tuple[str, ...], data: dict[str, Any], errors: Errors) -> dict[str, Any]:
    """The row's current values (a new row: none) overlaid with ``data``; unknown keys are errors."""
    for key in sorted(set(data) - set(fields)):
        errors.add(key, "Unknown field.")
    current = {f: getattr(row, f) for f in fields} if row is not None else {}
    return {**current, **{k: v for k, v in data.items() if k in fields}}


def text_field(values: dict, key: str, limit: int, errors: Errors, required: bool = False) -> str:
    """``values[key]`` as trimmed text (``""`` when missing), checked for length and presence."""
    value = values.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(key, "Must be text.")
        return ""
    value = value.strip()
    if required and not value:
        errors.add(key, "Required.")
    elif len(value) > limit:
        errors.add(key, f"At most {limit} characters.")
    return value


def whole_number(
    values: dict, key: str, errors: Errors, minimum: int = 0, optional: bool = False
) -> int | None:
    """``values[key]`` as a whole number of at least ``minimum`` (None allowed when ``optional``)."""
    value = values.get(key)
    if value is None and optional:
        return None
    if not is_int(value):
        errors.add(key, "Required." if value is None else "Must be a whole number.")
        return None
    if value < minimum:
        errors.add(key, f"Must be {minimum} or more.")
    return value


def country_code(code: Any) -> str | None:
    """The upper-cased ISO 3166-1 alpha-2 code, or None if ``code`` is not one."""
    if not isinstance(code, str) or len(code.strip()) != 2:
        return None
    code = code.strip().upper()
    return code if pycountry.countries.get(alpha_2=code) is not None else None


def flush_or_conflict(conflict: Conflict, constraint: str, table_columns: str) -> None:
    """Flush in a savepoint; a clash on the named unique constraint (a concurrent save of
    the same key) becomes ``conflict``.

    Raises:
        Conflict: ``conflict``, when that unique constraint refused the row.
        IntegrityError: any other constraint failed.
    """
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        if is_unique_clash(exc, constraint, table_columns):
            raise conflict from exc
        raise


def get_or_404(model, row_id: int, what: str):
    """The row of ``model`` with ``row_id``.

    Raises:
        NotFound: there is none.
    """
    row = db.session.get(model, row_id) if is_int(row_id) else None
    if row is None:
        raise NotFound(f"No such {what}.")
    return row


def save_unique(row, same_key: list, conflict: Conflict, constraint: str, table_columns: str) -> None:
    """Flush ``row`` after checking that no other row of its model has its key (``same_key``:
    the conditions on the key's columns); a concurrent save of the same key is caught by the
    unique constraint (:func:`flush_or_conflict`).

    Raises:
        Conflict: ``conflict``, when another row has the key.
        IntegrityError: any other constraint failed.
    """
    model = type(row)
    clash = select(model.id).where(*same_key)
    if row.id is not None:
        clash = clash.where(model.id != row.id)
    with db.session.no_autoflush:
        taken = db.session.scalar(clash) is not None
    if taken:
        raise conflict
    flush_or_conflict(conflict, constraint, table_columns)


@dataclass(frozen=True)
class Audited:
    """How the audit log records one kind of pricing row: entries ``<kind>.create``,
    ``.update`` and ``.delete`` on ``object_type``, with the old and new values of
    ``fields`` and the row named by ``label(row)``."""

    kind: str
    object_type: str
    fields: tuple[str, ...]
    label: Callable[[Any], str]

    def snapshot(self, row) -> dict[str, Any]:
        """The audited fields' values now (to pass to :meth:`updated` after a change)."""
        return audit.snapshot(row, self.fields)

    def _record(self, verb: str, row, before: dict, after: dict, actor_id: int | None) -> None:
        audit.record(
            f"{self.kind}.{verb}",
            self.object_type,
            row.id,
            self.label(row),
            audit.diff(before, after),
            actor_id,
        )

    def created(self, row, actor_id: int | None) -> None:
        """Record a new, flushed row with every audited field."""
        self._record("create", row, {}, self.snapshot(row), actor_id)

    def updated(self, row, before: dict[str, Any], actor_id: int | None) -> None:
        """Record the fields that changed since ``before`` (:meth:`snapshot`)."""
        self._record("update", row, before, self.snapshot(row), actor_id)

    def delete(self, row, actor_id: int | None) -> None:
        """Record, then delete and flush the row."""
        self._record("delete", row, self.snapshot(row), {}, actor_id)
        db.session.delete(row)
        db.session.flush()
