"""audit: the append-only staff log (who changed what, when, from where).

Services call :func:`record` next to the change they make, in the same transaction; the
database refuses to update or delete an entry (a trigger), so the log is only ever added to.
"""

from shop.audit.services import diff, record, snapshot

__all__ = ["diff", "record", "snapshot"]
