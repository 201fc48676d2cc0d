"""The account page: profile, a link to the orders, signing out everywhere, and API tokens
(list, create, revoke)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from shop.auth import bp, logins, services
from shop.auth.forms import ConfirmForm, TokenCreateForm
from shop.auth.websession import end_session
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


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """End every login of the account on every browser, this one included (API tokens stay).

    The CSRF token is checked for every POST by the app's CSRF protection.
    """
    with unit_of_work():
        ended = logins.end_all_logins(current_user)
    end_session()
    flash(f"Signed out everywhere ({ended} session{'s' if ended != 1 else ''} ended).", "info")
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
