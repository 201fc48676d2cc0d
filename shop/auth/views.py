"""Login, registration, logout and password-reset pages."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from shop.auth import bp, mails, services
from shop.auth.forms import LoginForm, RegisterForm, ResetPasswordForm, ResetRequestForm
from shop.auth.redirects import safe_next_url
from shop.auth.signals import session_started
from shop.auth.throttle import login_throttle, mark_auth_failure, reset_throttle
from shop.dbtypes import utcnow
from shop.exceptions import Conflict, Unauthorized, ValidationFailed
from shop.extensions import db
from shop.transaction import unit_of_work
from shop.webforms import apply_errors


def start_session(user, remember: bool = False) -> None:
    """Log ``user`` in on a fresh session and commit.

    The old session is cleared first (a new session for a new identity, which also gives a
    new CSRF token); :data:`shop.auth.signals.session_started` then lets other packages
    carry over what they kept in it (the cart merges the guest's cart).
    """
    previous = dict(session)
    session.clear()
    login_user(user, remember=remember)
    user.last_login_at = utcnow()
    session_started.send(current_app._get_current_object(), user=user, previous_session=previous)
    db.session.commit()


@bp.route("/auth/login", methods=["GET", "POST"])
@login_throttle
def login():
    """Log in with e-mail and password, then go to a local ``next`` page or home."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except Unauthorized as exc:
            mark_auth_failure()
            form.form_errors.append(exc.detail)
        else:
            target = safe_next_url(form.next.data) or safe_next_url(request.args.get("next"))
            start_session(user, remember=bool(form.remember.data))
            flash("Welcome back!", "success")
            return redirect(target or url_for("catalog.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/auth/register", methods=["GET", "POST"])
def register():
    """Create a customer account and log it in."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.account"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            # One transaction: the account and its first login (start_session commits it).
            with unit_of_work():
                user = services.register_user(form.email.data, form.password.data, name=form.name.data or "")
                start_session(user)
        except (ValidationFailed, Conflict) as exc:
            apply_errors(form, exc)
        else:
            flash("Your account is ready. Welcome!", "success")
            return redirect(url_for("catalog.home"))
    return render_template("auth/register.html", form=form)


@bp.post("/auth/logout")
def logout():
    """Log out (POST only, CSRF-protected) and forget the whole session."""
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("catalog.home"))


@bp.route("/auth/reset", methods=["GET", "POST"])
@reset_throttle
def reset_request():
    """Ask for a reset link; the answer is the same whether or not the account exists."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        # The same row for a known and an unknown address, mailed by a job after the commit:
        # the answer and the work here cannot tell them apart, and the mail server is never
        # waited for.
        with unit_of_work():
            mails.queue_password_reset(form.email.data, ip=request.remote_addr, base_url=request.url_root)
        flash("If an account exists for that address, we have sent it a link to reset the password.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/auth/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password with a reset link; it works once and ends all other sessions."""
    form = ResetPasswordForm()
    try:
        services.check_reset_token(token)
    except ValidationFailed as exc:
        return render_template("auth/reset_invalid.html", message=exc.detail), 400
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.reset_password(token, form.password.data)
        except ValidationFailed as exc:
            if "token" in exc.errors:
                return render_template("auth/reset_invalid.html", message=exc.detail), 400
            apply_errors(form, exc)
        else:
            logout_user()
            session.clear()
            flash("Your password is changed. Log in with the new one.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, token=token)
