"""Admin pages for users: search, paginate, change roles (admins only)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from shop.admin import bp
from shop.auth import services
from shop.auth.forms import RoleForm
from shop.auth.guards import admin_required
from shop.auth.models import ROLES, User
from shop.exceptions import ShopError
from shop.extensions import db
from shop.transaction import unit_of_work
from shop.webforms import add_error

USERS_PER_PAGE = 25


def _int_arg(name: str, default: int) -> int:
    """A positive integer from the query string, else ``default``."""
    try:
        value = int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default
    return value if value >= 1 else default


@bp.get("/users")
@admin_required
def user_list():
    """Users, newest first, searchable by e-mail or name and filterable by role."""
    q = (request.args.get("q") or "").strip()[:100]
    role = request.args.get("role") if request.args.get("role") in ROLES else ""
    page = min(_int_arg("page", 1), 100_000)
    per_page = min(_int_arg("per_page", USERS_PER_PAGE), current_app.config.get("API_MAX_PER_PAGE", 100))
    pagination = db.paginate(
        services.search_users(q, role or None), page=page, per_page=per_page, error_out=False
    )
    return render_template(
        "admin/users/list.html", pagination=pagination, users=pagination.items, q=q, role=role, roles=ROLES
    )


@bp.route("/users/<int:user_id>/role", methods=["GET", "POST"])
@admin_required
def user_role(user_id: int):
    """Change one user's role; the last admin cannot be demoted."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    form = RoleForm(role=user.role)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.set_role(current_user._get_current_object(), user.id, form.role.data)
        except ShopError as exc:
            add_error(form, "role", exc.detail)
        else:
            flash(f"{user.email} is now {user.role}.", "success")
            return redirect(url_for("admin.user_list"))
    return render_template("admin/users/role.html", user=user, form=form), (422 if form.errors else 200)
