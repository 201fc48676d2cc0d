"""Periods of local days for the sales figures, and local days in SQL.

**Days** are local days of the shop's time zone (``SHOP_TIMEZONE``, an IANA name, default
UTC). A period is a range of local dates, both ends included; its bounds are the UTC
instants of local midnight (``zoneinfo``). Orders are put in days by SQL on both SQLite and
PostgreSQL: the period is cut into runs of whole days that start and end with the same UTC
offset, and within a run an order's local date is the date of ``created_at`` shifted by
that offset; a day on which the offset changes (a DST change: 23 or 25 hours long) is its
own run whose bucket is that date as a literal. One ``CASE`` over those few runs does the
bucketing, so days are right across DST changes and all money is summed in SQL, in cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import String, case, cast, func, literal, literal_column
from sqlalchemy.sql.elements import ColumnElement


@dataclass(frozen=True)
class Period:
    """Local dates ``start`` to ``end``, both included, in ``tz``."""

    start: date
    end: date
    tz: ZoneInfo

    @property
    def days(self) -> int:
        """Number of local days in the period (at least 1)."""
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1), self.tz)

    def dates(self) -> list[date]:
        """Every local date of the period, in order."""
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """``(first instant, instant after the last)`` of the period, as aware UTC datetimes."""
        return local_midnight(self.start, self.tz), local_midnight(self.end + timedelta(days=1), self.tz)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant at which local ``day`` begins in ``tz`` (where midnight falls in a DST
    gap, the end of the gap)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


def period_ending(end: date, days: int, tz: ZoneInfo) -> Period:
    """The ``days`` local days ending with ``end`` (included)."""
    return Period(end - timedelta(days=days - 1), end, tz)


def today(tz: ZoneInfo, now: datetime | None = None) -> date:
    """The local date in ``tz`` now (or at ``now``, an aware datetime)."""
    return (now or datetime.now(timezone.utc)).astimezone(tz).date()


def _shifted_date(col, offset_seconds: int, dialect: str) -> ColumnElement:
    """SQL: the date (``YYYY-MM-DD`` text) of UTC timestamp ``col`` shifted by the offset."""
    if dialect == "postgresql":
        shifted = func.timezone("UTC", col) + literal_column(f"INTERVAL '{int(offset_seconds)} seconds'")
        return func.to_char(shifted, "YYYY-MM-DD")
    return func.date(col, f"{int(offset_seconds):+d} seconds")


def local_day(col, period: Period, dialect: str) -> ColumnElement:
    """SQL: the local date (``YYYY-MM-DD`` text) of UTC timestamp ``col``, for rows inside
    ``period`` (see the module's docstring for how DST changes are handled)."""
    whens = []
    run_offset: timedelta | None = None
    for day in period.dates():
        begin = datetime.combine(day, time(0), tzinfo=period.tz)
        nxt = datetime.combine(day + timedelta(days=1), time(0), tzinfo=period.tz)
        day_end = local_midnight(day + timedelta(days=1), period.tz)
        if begin.utcoffset() != nxt.utcoffset():  # a DST change inside the day: its own bucket
            if run_offset is not None:
                whens.append((col < local_midnight(day, period.tz), run_offset))
            whens.append((col < day_end, day.isoformat()))
            run_offset = None
            continue
        if run_offset is not None and run_offset != begin.utcoffset():
            whens.append((col < local_midnight(day, period.tz), run_offset))
        run_offset = begin.utcoffset()
    if run_offset is not None:
        whens.append((None, run_offset))

    def value(v):
        if isinstance(v, str):
            return cast(literal(v), String)
        return _shifted_date(col, int(v.total_seconds()), dialect)

    if len(whens) == 1:
        return value(whens[0][1])
    last = whens[-1]
    branches = [(cond, value(v)) for cond, v in whens if cond is not None]
    return case(*branches, else_=value(last[1]) if last[0] is None else None)
