"""The audit log's one table: :class:`AuditEntry`, written once and never changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shop.audit.schema import install_on_create
from shop.dbtypes import JSONType, UTCDateTime, utcnow
from shop.extensions import db


class AuditEntry(db.Model):
    """One staff change: who (``actor_id`` and a copy of their e-mail), when (``at``, UTC),
    from where (``ip``, the client address as the app sees it behind its proxies), what
    (``kind`` such as ``product.update``; the object's type, id and a label such as its SKU)
    and how (``changes``: ``{field: [old, new]}``; ``note``: free text).

    Append-only: the database refuses UPDATE and DELETE (``shop.audit.schema``).
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_object", "object_type", "object_id", "id"),
        Index("ix_audit_entries_actor", "actor_id", "id"),
        Index("ix_audit_entries_kind", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_email: Mapped[str] = mapped_column(String(254), default="")
    ip: Mapped[str | None] = mapped_column(String(45))
    kind: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[int | None]
    object_label: Mapped[str] = mapped_column(String(255), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.kind} {self.object_type}:{self.object_id}>"


install_on_create(AuditEntry.__table__)
