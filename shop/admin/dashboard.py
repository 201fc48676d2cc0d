"""The staff dashboard's period form and its chart: the period a query string asks for, and
the geometry of the server-drawn SVG chart of revenue and orders per day (drawn by the
``admin/_charts.html`` macros, with SVG attributes and CSS classes only: no script, no
inline style)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.numbers import format_compact_currency, get_currency_precision
from wtforms import DateField, Form, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from shop.admin.sales import Period, period_ending

#: The periods offered: days ending today, or a custom range.
PERIOD_CHOICES = [
    SelectChoice("7", "Last 7 days"),
    SelectChoice("30", "Last 30 days"),
    SelectChoice("90", "Last 90 days"),
    SelectChoice("custom", "Custom range"),
]
DEFAULT_PERIOD = "30"
#: The longest custom range, in days.
MAX_CUSTOM_DAYS = 366


class PeriodForm(Form):
    """``?period=7|30|90|custom&start=YYYY-MM-DD&end=YYYY-MM-DD`` (a GET form: no CSRF).

    A custom range needs both dates, ``start`` not after ``end``, ``end`` not after today
    and at most :data:`MAX_CUSTOM_DAYS` days."""

    period = SelectField("Period", choices=PERIOD_CHOICES, default=DEFAULT_PERIOD)
    start = DateField("From", validators=[Optional()])
    end = DateField("To", validators=[Optional()])

    def __init__(self, formdata, today: date, **kwargs):
        super().__init__(formdata, **kwargs)
        self.today = today

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then the custom range's: both days given, in order, not in the future,
        at most :data:`MAX_CUSTOM_DAYS` long. Errors go on the ``start`` or ``end`` field."""
        if not super().validate(extra_validators):
            return False
        if self.period.data != "custom":
            return True
        start, end = self.start.data, self.end.data
        if start is None:
            self.start.errors.append("Give the first day of the range.")
        if end is None:
            self.end.errors.append("Give the last day of the range.")
        elif end > self.today:
            self.end.errors.append("The range cannot end after today.")
        elif start is not None and start > end:
            self.end.errors.append("The first day must not be after the last.")
        elif start is not None and (end - start).days + 1 > MAX_CUSTOM_DAYS:
            self.end.errors.append(f"A range can be at most {MAX_CUSTOM_DAYS} days.")
        return not (self.start.errors or self.end.errors)


def chosen_period(form: PeriodForm, tz: ZoneInfo) -> Period:
    """The period a validated form asks for (the default when it is not valid)."""
    if form.period.data == "custom" and not form.errors and form.start.data and form.end.data:
        return Period(form.start.data, form.end.data, tz)
    days = int(form.period.data) if form.period.data in ("7", "30", "90") else int(DEFAULT_PERIOD)
    return period_ending(form.today, days, tz)


# --- chart -----------------------------------------------------------------------------------

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 48, 16, 36


@dataclass
class Bar:
    """One day's revenue bar and orders point, in chart units."""

    x: float
    width: float
    y: float
    height: float
    cx: float
    cy: float
    day: date
    revenue_cents: int
    orders: int


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2 or 5 times a power of ten that is at least ``value`` (>= 1)."""
    value = max(int(value), 1)
    scale = 1
    while True:
        for step in (1, 2, 5, 10):
            if step * scale >= value:
                return step * scale
        scale *= 10


def compact_money(cents: int, currency: str, locale: str) -> str:
    """Cents as a short axis label: 125000 -> ``$1.3K`` (one decimal at most)."""
    amount = Decimal(int(cents)).scaleb(-get_currency_precision(currency))
    return format_compact_currency(amount, currency, locale=locale, fraction_digits=1)


def daily_chart(days: list[dict], currency: str = "USD", locale: str = "en_US") -> dict:
    """Geometry of the revenue (bars, left axis) and orders (line, right axis) chart.

    ``days`` is :func:`shop.admin.sales.daily_sales`. Returns ``{"width", "height", "bars":
    [Bar], "points": "x,y ...", "revenue_ticks": [(y, label)], "order_ticks": [(y, n)],
    "labels": [(x, date)], "plot": (left, top, right, bottom)}`` in SVG user units."""
    n = max(len(days), 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    max_cents = _nice_ceiling(max((d["revenue_cents"] for d in days), default=0))
    max_orders = _nice_ceiling(max((d["orders"] for d in days), default=0))
    slot = plot_w / n
    gap = min(slot * 0.2, 4)
    bars = []
    for i, d in enumerate(days):
        h = plot_h * max(d["revenue_cents"], 0) / max_cents
        cy = TOP + plot_h - plot_h * d["orders"] / max_orders
        bars.append(
            Bar(
                x=round(LEFT + i * slot + gap / 2, 2),
                width=round(max(slot - gap, 0.5), 2),
                y=round(TOP + plot_h - h, 2),
                height=round(h, 2),
                cx=round(LEFT + (i + 0.5) * slot, 2),
                cy=round(cy, 2),
                day=d["day"],
                revenue_cents=d["revenue_cents"],
                orders=d["orders"],
            )
        )
    ticks = 4
    revenue_ticks = [
        (round(TOP + plot_h - plot_h * k / ticks, 2), compact_money(max_cents * k // ticks, currency, locale))
        for k in range(ticks + 1)
    ]
    # Only whole numbers of orders are labelled (a maximum of 2 would give 0.5, 1.5).
    order_ticks = [
        (round(TOP + plot_h - plot_h * k / ticks, 2), max_orders * k // ticks)
        for k in range(ticks + 1)
        if max_orders * k % ticks == 0
    ]
    every = max(1, -(-n // 7))  # at most about 7 date labels
    labels = [(b.cx, b.day) for i, b in enumerate(bars) if i % every == 0]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "bars": bars,
        "points": " ".join(f"{b.cx},{b.cy}" for b in bars),
        "revenue_ticks": revenue_ticks,
        "order_ticks": order_ticks,
        "labels": labels,
        "plot": (LEFT, TOP, WIDTH - RIGHT, TOP + plot_h),
    }
