"""The dashboard's sales report for a period, with the figures of finished days cached.

A period's figures are its per-day revenue and orders (:func:`shop.admin.sales.daily_sales`)
and its per-product units and amounts (:func:`shop.admin.sales.product_sums`). For the days
that are finished (before :func:`shop.orders.sales_marks.first_open_day`) they are read from
the cache when still valid, and computed in SQL otherwise; open days (today) are always
computed. With 100,000 orders this takes the 90-day dashboard from a scan of a quarter's
orders and lines to a scan of one day's (``bench/dashboard.py``).

Validity: each cached entry keeps the generations of its days
(:func:`shop.orders.sales_marks.generations`) as read *before* its figures were computed;
every change to a finished day's figures raises that day's generation in the change's own
transaction, so an entry whose generations differ from the database's is recomputed, on
every worker, from the moment the change commits. Entries also expire after
:data:`ENTRY_SECONDS`. The cache fails open: when it does not answer, figures are computed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from shop.admin.sales import (
    Period,
    ProductSales,
    Totals,
    Waiting,
    average,
    change,
    daily_sales,
    product_sums,
    running_out,
    top_categories,
    top_products,
    waiting_orders,
    with_products,
)
from shop.extensions import cache
from shop.orders.sales_marks import first_open_day, generations

#: How long a cached entry is kept at most (seconds).
ENTRY_SECONDS = 3600
_KEY = "sales:v1:{tz}:{start}:{end}"

log = logging.getLogger(__name__)


@dataclass
class Figures:
    """A period's figures as plain data: ``days`` as :func:`~shop.admin.sales.daily_sales`
    gives them, ``sums`` as :func:`~shop.admin.sales.product_sums` (``{product_id: (units,
    cents)}``)."""

    days: list[dict]
    sums: dict[int | None, tuple[int, int]]

    def totals(self) -> Totals:
        """Revenue, orders, average order value and units sold."""
        revenue = sum(d["revenue_cents"] for d in self.days)
        orders = sum(d["orders"] for d in self.days)
        units = sum(units for units, _ in self.sums.values())
        return Totals(revenue, orders, average(revenue, orders), units)


def compute(period: Period) -> Figures:
    """The figures of ``period`` from the database (two grouped sums and one for the lines)."""
    return Figures(daily_sales(period), product_sums(period))


def _merge(first: Figures, second: Figures) -> Figures:
    """The figures of two adjacent periods, ``first`` before ``second``."""
    sums = dict(first.sums)
    for pid, (units, cents) in second.sums.items():
        had_units, had_cents = sums.get(pid, (0, 0))
        sums[pid] = (had_units + units, had_cents + cents)
    return Figures(first.days + second.days, sums)


def _cache_get(key: str):
    try:
        return cache.get(key)
    except Exception as exc:  # the cache is an optimisation: compute without it
        log.warning("Sales figures not read from the cache (%s: %s)", exc.__class__.__name__, exc)
        return None


def _cache_set(key: str, value) -> None:
    try:
        cache.set(key, value, timeout=ENTRY_SECONDS)
    except Exception as exc:
        log.warning("Sales figures not stored in the cache (%s: %s)", exc.__class__.__name__, exc)


def finished_figures(period: Period) -> Figures:
    """The figures of ``period``, all of whose days are finished: the cached entry when its
    generations are the database's, else computed and stored."""
    tz = period.tz.key
    key = _KEY.format(tz=tz, start=period.start.isoformat(), end=period.end.isoformat())
    # Read before computing: a change committed after this read leaves the entry stale-marked.
    marks = sorted((day.isoformat(), gen) for day, gen in generations(tz, period.start, period.end).items())
    stored = _cache_get(key)
    if isinstance(stored, dict) and stored.get("marks") == marks:
        return Figures(stored["days"], {pid: tuple(v) for pid, v in stored["sums"]})
    figures = compute(period)
    _cache_set(key, {"marks": marks, "days": figures.days, "sums": list(figures.sums.items())})
    return figures


def figures(period: Period, now: datetime | None = None) -> Figures:
    """The figures of ``period``: its finished days through :func:`finished_figures`, its
    open days (today) computed."""
    open_from = first_open_day(period.tz, now)
    if period.start >= open_from:
        return compute(period)
    finished = Period(period.start, min(period.end, open_from - timedelta(days=1)), period.tz)
    done = finished_figures(finished)
    if period.end < open_from:
        return done
    return _merge(done, compute(Period(open_from, period.end, period.tz)))


@dataclass
class Dashboard:
    """Everything the sales part of the dashboard shows for one period."""

    period: Period
    previous: Period
    days: list[dict]
    current: Totals
    before: Totals
    changes: dict[str, float | None]
    products: list[dict]
    categories: list[dict]
    running_out: list[dict]
    waiting: Waiting


def sales_dashboard(period: Period, now: datetime | None = None) -> Dashboard:
    """All figures of the dashboard for ``period``, compared with the period before it
    (``now``: an aware datetime, for tests; the current time otherwise)."""
    previous = period.previous()
    current_figures = figures(period, now)
    sold: list[ProductSales] = with_products(current_figures.sums)
    current = current_figures.totals()
    before = figures(previous, now).totals()
    changes = {
        name: change(getattr(current, name), getattr(before, name))
        for name in ("revenue_cents", "orders", "average_order_cents", "units")
    }
    return Dashboard(
        period=period,
        previous=previous,
        days=current_figures.days,
        current=current,
        before=before,
        changes=changes,
        products=top_products(period, sold=sold),
        categories=top_categories(period, sold=sold),
        running_out=running_out(period, sold=sold),
        waiting=waiting_orders(now),
    )
