"""The audit log's staff pages: ``/admin/audit`` (filters, pages) and the history partial
shown on each admin product and order page.

Read-only: no page here (or anywhere) edits or deletes an entry. Staff see the entries they
wrote themselves; admins see everyone's and can filter by person.
"""

from __future__ import annotations

from datetime import date

from flask import render_template, request
from flask_login import current_user

from shop.admin import bp
from shop.audit import services
from shop.auth.guards import staff_required
from shop.extensions import db

PER_PAGE = 50
#: Kind filters offered besides the exact kinds found in the log: every pricing change.
KIND_GROUPS = ("pricing.",)


def _day(name: str) -> date | None:
    """A ``YYYY-MM-DD`` query argument, or None when missing or not a date."""
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _filters() -> dict:
    """The list's filters from the query string, checked; unknown values count as none.

    Returns:
        ``{actor_id, object_type, kind, since, until}``; a non-admin's ``actor_id`` is
        always their own.
    """
    actor_id = request.args.get("person", type=int)
    if not current_user.is_admin:
        actor_id = current_user.id
    object_type = request.args.get("type", "")
    kind = request.args.get("kind", "")[:50]
    return {
        "actor_id": actor_id,
        "object_type": object_type if object_type in services.OBJECT_TYPES else "",
        "kind": kind,
        "since": _day("from"),
        "until": _day("to"),
    }


@bp.get("/audit")
@staff_required
def audit_list():
    """The audit log, newest first, 50 a page, filtered by person, object type, kind and
    period (from/to days in UTC, both included)."""
    filters = _filters()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pagination = db.paginate(
        services.entry_query(**filters), page=page, per_page=PER_PAGE, error_out=False, count=True
    )
    args = {
        "person": filters["actor_id"] if current_user.is_admin else None,
        "type": filters["object_type"],
        "kind": filters["kind"],
        "from": filters["since"].isoformat() if filters["since"] else "",
        "to": filters["until"].isoformat() if filters["until"] else "",
    }
    args = {k: v for k, v in args.items() if v}
    return render_template(
        "admin/audit/list.html",
        pagination=pagination,
        entries=pagination.items,
        args=args,
        people=services.actors() if current_user.is_admin else [],
        object_types=services.OBJECT_TYPES,
        kinds=[*KIND_GROUPS, *services.kinds()],
    )


@bp.app_template_global("audit_history")
def audit_history(object_type: str, object_id: int) -> list:
    """Template global for the history partial: the newest 50 entries about one object."""
    return services.history(object_type, object_id)
