"""Writing and reading the audit log.

:func:`record` adds an entry to the caller's transaction (it flushes, never commits): the
entry is committed with the change it describes, or rolled back with it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select

from shop.audit.context import current_ip
from shop.audit.models import AuditEntry
from shop.auth.models import User
from shop.extensions import db

#: Object types with their own history on an admin page.
OBJECT_TYPES = (
    "product",
    "order",
    "user",
    "api_token",
    "refund",
    "shipping_method",
    "tax_rate",
    "discount_code",
    "catalog",
)


def _plain(value: Any) -> Any:
    """``value`` as JSON data: datetimes as ISO text, decimals as text, tuples as lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def snapshot(row: Any, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``{field: value}`` of a model row's ``fields``, as JSON data (for :func:`diff`)."""
    return {f: _plain(getattr(row, f)) for f in fields}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """The fields whose value differs: ``{field: [old, new]}``.

    A field in only one of the dicts counts as None in the other. Values are compared as
    JSON data (datetimes as ISO text), in the order of ``after`` then ``before``.
    """
    out = {}
    for key in [*after, *(k for k in before if k not in after)]:
        old, new = _plain(before.get(key)), _plain(after.get(key))
        if old != new:
            out[key] = [old, new]
    return out


def record(
    kind: str,
    obj_type: str,
    obj_id: int | None,
    label: str,
    changes: dict[str, list] | None,
    actor_id: int | None,
    note: str = "",
    *,
    ip: str | None = None,
    staff_only: bool = False,
) -> AuditEntry | None:
    """Add one entry to the log, in the caller's transaction (flushed, not committed).

    Args:
        kind: what happened, ``<object>.<verb>`` (e.g. ``product.update``, ``stock.set``).
        obj_type / obj_id / label: the object changed (e.g. ``"product"``, 12, its SKU).
        changes: ``{field: [old, new]}`` (see :func:`diff`); None for none.
        actor_id: the user who made the change (their e-mail is copied), None for the system.
        note: free text (e.g. the staff's note on an order transition).
        ip: the client address; None takes the current request's
            (:func:`shop.audit.context.current_ip`), if there is one.
        staff_only: record only if the actor is staff or admin (for paths that shoppers
            share, such as cancelling an order); returns None otherwise.
    Returns:
        The flushed :class:`AuditEntry`, or None when ``staff_only`` skipped it.
    """
    actor = db.session.get(User, actor_id) if actor_id is not None else None
    if staff_only and (actor is None or not actor.is_staff):
        return None
    entry = AuditEntry(
        actor_id=actor_id,
        actor_email=actor.email if actor is not None else "",
        ip=ip if ip is not None else current_ip(),
        kind=kind[:50],
        object_type=obj_type[:50],
        object_id=obj_id,
        object_label=str(label or "")[:255],
        changes=_plain(changes or {}),
        note=(note or "")[:2000],
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def entry_query(
    actor_id: int | None = None,
    object_type: str = "",
    object_id: int | None = None,
    kind: str = "",
    since: date | None = None,
    until: date | None = None,
) -> Select:
    """A select of entries, newest first, for views to paginate.

    Args:
        actor_id: only this person's entries.
        object_type / object_id: only entries about this kind of object (and this one).
        kind: an exact kind (``product.update``) or a prefix ending in a dot (``pricing.``).
        since / until: calendar days in UTC, both included.
    """
    stmt = select(AuditEntry)
    if actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    if kind:
        stmt = stmt.where(
            AuditEntry.kind.startswith(kind, autoescape=True)
            if kind.endswith(".")
            else AuditEntry.kind == kind
        )
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= datetime.combine(since, time.min, timezone.utc))
    if until is not None:
        stmt = stmt.where(AuditEntry.at < datetime.combine(until + timedelta(days=1), time.min, timezone.utc))
    return stmt.order_by(AuditEntry.id.desc())


def history(object_type: str, object_id: int, limit: int = 50) -> list[AuditEntry]:
    """The newest ``limit`` entries about one object (e.g. a product's), newest first."""
    return list(db.session.scalars(entry_query(object_type=object_type, object_id=object_id).limit(limit)))


def kinds() -> list[str]:
    """Every kind that occurs in the log, sorted (for the filter's choices)."""
    return list(db.session.scalars(select(AuditEntry.kind).distinct().order_by(AuditEntry.kind)))


def actors() -> list[tuple[int, str]]:
    """``[(user id, e-mail)]`` of everyone who has an entry, by e-mail."""
    rows = db.session.execute(
        select(AuditEntry.actor_id, User.email)
        .join(User, User.id == AuditEntry.actor_id)
        .distinct()
        .order_by(User.email)
    ).all()
    return [(r[0], r[1]) for r in rows]
