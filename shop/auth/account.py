"""The account page: profile, a link to the orders, signing out everywhere, and API tokens
(list, create, revoke)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user, login_required

from shop.auth import bp, logins, services
from shop.auth.forms import ChangePasswordForm, ConfirmForm, TokenCreateForm
from shop.auth.websession import end_session, start_session
from shop.exceptions import NotFound, ValidationFailed
from shop.extensions import db
from shop.transaction import unit_of_work
from shop.webforms import apply_errors


def _token_form(formdata=None) -> TokenCreateForm:
    """The token form, offering the scopes the user's role allows (all ticked by default)."""
    allowed = services.ROLE_SCOPES[current_user.role]
    if formdata is None:  # a blank form, even when answering a POST
        form = TokenCreateForm(formdata=None, scopes=list(allowed))
    else:
        form = TokenCreateForm()
    form.scopes.choices = [(s, s) for s in allowed]
    if formdata is None:
        form.expires_in_days.data = current_app.config["API_TOKEN_DEFAULT_TTL"].days
    return form


def _render_account(form: TokenCreateForm, new_secret: str | None = None, new_token=None, status: int = 200):
    """Render the account page with the user's live tokens."""
    tokens = services.list_api_tokens(current_user)
    return render_template(
        "auth/account.html",
        form=form,
        tokens=tokens,
        new_secret=new_secret,
        new_token=new_token,
        confirm_form=ConfirmForm(),
        login_count=logins.count_logins(current_user),
    ), status


@bp.get("/account")
@login_required
def account():
    """The signed-in user's account page."""
    return _render_account(_token_form())


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password while signed in (the current one confirms it is the owner): every
    other login of the account ends, this browser gets a fresh one."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            with unit_of_work():
                services.change_password(
                    user,
                    form.current_password.data,
                    form.password.data,
                    keep_api_tokens=bool(form.keep_api_tokens.data),
                )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            start_session(user)
            kept = "kept" if form.keep_api_tokens.data else "revoked"
            flash(
                f"Your password is changed. Every other browser and device is signed out; API tokens {kept}.",
                "success",
            )
            return redirect(url_for("auth.account"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/change_password.html", form=form), status


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """End every login of the account on every browser, this one included (API tokens stay).

    The CSRF token is checked for every POST by the app's CSRF protection.
    """
    with unit_of_work():
        ended = logins.end_all_logins(current_user)
    end_session()
    flash(
        ngettext(
            "Signed out everywhere (%(num)d session ended).",
            "Signed out everywhere (%(num)d sessions ended).",
            ended,
        ),
        "info",
    )
    return redirect(url_for("catalog.home"))


@bp.post("/account/tokens")
@login_required
def token_create():
    """Create an API token; its secret is shown on this response only, never again."""
    form = _token_form(formdata=True)
    if form.validate_on_submit():
        days = form.expires_in_days.data
        ttl = timedelta(days=days) if days else current_app.config["API_TOKEN_DEFAULT_TTL"]
        try:
            with unit_of_work():
                token, secret = services.create_api_token(
                    current_user,
                    name=form.name.data or "",
                    scopes=form.scopes.data or None,
                    ttl=ttl,
                )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            return _render_account(_token_form(), new_secret=secret, new_token=token, status=201)
    return _render_account(form, status=422 if form.errors else 200)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@login_required
def token_revoke(token_id: int):
    """Confirm (GET) and revoke (POST) one of the user's tokens; another's token is a 404."""
    token = next((t for t in services.list_api_tokens(current_user) if t.id == token_id), None)
    if token is None:
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            services.revoke_api_token(current_user, token_id)
        except NotFound:
            abort(404)
        db.session.commit()
        flash(f"Token {token.prefix}… revoked; it stops working at once.", "success")
        return redirect(url_for("auth.account"))
    return render_template("auth/token_revoke.html", token=token, form=form)
