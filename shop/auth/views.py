"""Login, registration, logout and password-reset pages."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from shop.auth import bp, mails, services
from shop.auth.forms import LoginForm, RegisterForm, ResetPasswordForm, ResetRequestForm
from shop.auth.redirects import safe_next_url
from shop.auth.throttle import login_throttle, mark_auth_failure, reset_throttle
from shop.auth.websession import end_session, start_session
from shop.exceptions import Conflict, Unauthorized, ValidationFailed
from shop.transaction import unit_of_work
from shop.webforms import apply_errors


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
    if request.method == "POST":
        # The form's own checks (presence, the repeated password) and the service's (e-mail
        # syntax and uniqueness, password policy) all run, so every problem shows at once.
        form_ok = form.validate_on_submit()
        problems = services.registration_problems(form.email.data, form.password.data, form.name.data or "")
        for name, messages in problems.items():
            field = getattr(form, name)
            if field.data:  # an empty field already says "This field is required."
                field.errors = [*field.errors, *(m for m in messages if m not in field.errors)]
        if form_ok and not problems:
            try:
                # One transaction: the account and its first login (start_session commits it).
                with unit_of_work():
                    user = services.register_user(
                        form.email.data, form.password.data, name=form.name.data or ""
                    )
                    start_session(user)
            except (ValidationFailed, Conflict) as exc:
                apply_errors(form, exc)
            else:
                flash("Your account is ready. Welcome!", "success")
                return redirect(url_for("catalog.home"))
    return render_template("auth/register.html", form=form)


@bp.post("/auth/logout")
def logout():
    """Log out (POST only, CSRF-protected): this browser's login ends on the server, so a
    copy of its session or remember cookie no longer signs anyone in; other browsers of
    the account stay signed in (the account page signs out everywhere)."""
    end_session()
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
    """Choose a new password with a reset link; it works once, ends every login of the
    account (this browser's too) and revokes its API tokens unless the form keeps them."""
    form = ResetPasswordForm()
    try:
        services.check_reset_token(token)
    except ValidationFailed as exc:
        return render_template("auth/reset_invalid.html", message=exc.detail), 400
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.reset_password(
                    token, form.password.data, keep_api_tokens=bool(form.keep_api_tokens.data)
                )
        except ValidationFailed as exc:
            if "token" in exc.errors:
                return render_template("auth/reset_invalid.html", message=exc.detail), 400
            apply_errors(form, exc)
        else:
            end_session()
            kept = "kept" if form.keep_api_tokens.data else "revoked"
            flash(
                f"Your password is changed and every session signed out; API tokens {kept}. "
                "Log in with the new password.",
                "success",
            )
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, token=token)
