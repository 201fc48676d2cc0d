"""Admin pages: the dashboard; products, orders and users live in their own modules."""

from zoneinfo import ZoneInfo

from flask import current_app, render_template, request
from sqlalchemy import case, func, select

from shop.admin import bp, sales, sales_report
from shop.admin.dashboard import PeriodForm, chosen_period, daily_chart
from shop.auth.guards import staff_required
from shop.catalog.models import PRODUCT_STATUSES, Product
from shop.extensions import db
from shop.orders.models import ORDER_STATUSES, Order


def product_counts() -> dict[str, int]:
    """Product counts: ``{draft, active, archived, total, out_of_stock, low_stock}``.

    ``out_of_stock`` and ``low_stock`` (1 to ``LOW_STOCK_THRESHOLD`` units) count active
    products only.
    """
    active = Product.status == "active"
    row = db.session.execute(
        select(
            func.count(Product.id),
            *(func.coalesce(func.sum(case((Product.status == s, 1), else_=0)), 0) for s in PRODUCT_STATUSES),
            func.coalesce(func.sum(case((active & (Product.stock == 0), 1), else_=0)), 0),
            func.coalesce(func.sum(case((active & Product.low_stock, 1), else_=0)), 0),
        )
    ).one()
    counts = {"total": int(row[0])}
    counts.update({s: int(v) for s, v in zip(PRODUCT_STATUSES, row[1:4])})
    counts["out_of_stock"], counts["low_stock"] = int(row[4]), int(row[5])
    return counts


def order_counts() -> list[tuple[str, int]]:
    """``[(status, count)]`` for every order status, in lifecycle order (zeros included)."""
    found = dict(db.session.execute(select(Order.status, func.count(Order.id)).group_by(Order.status)).all())
    known = [(s, int(found.pop(s, 0))) for s in ORDER_STATUSES]
    return known + sorted((s, int(n)) for s, n in found.items())


@bp.get("/")
@staff_required
def dashboard():
    """Admin dashboard: sales of a period (``?period=7|30|90|custom&start=&end=``) against the
    period before, per-day chart, top products and categories, stock running out, orders
    waiting; then product and order counts. An invalid custom range is answered 400 with the
    form's errors, showing the default period."""
    tz = ZoneInfo(current_app.config["SHOP_TIMEZONE"])
    form = PeriodForm(request.args, today=sales.today(tz))
    valid = form.validate()
    report = sales_report.sales_dashboard(chosen_period(form, tz))
    html = render_template(
        "admin/dashboard.html",
        form=form,
        report=report,
        chart=daily_chart(
            report.days, current_app.config["SHOP_CURRENCY"], current_app.config["SHOP_LOCALE"]
        ),
        runout_days=sales.RUNOUT_DAYS,
        stale_pending_hours=int(sales.STALE_PENDING_AFTER.total_seconds() // 3600),
        products=product_counts(),
        orders=order_counts(),
    )
    return html, 200 if valid else 400
