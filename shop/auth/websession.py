"""The browser side of a login: Flask-Login's loader, starting and ending a session, and
the ``remember_token`` cookie.

The rule: logging out ends this browser's login on the server (its
:class:`~shop.auth.models.LoginSession` row is deleted), so the ``session`` and
``remember_token`` cookies it used stop working everywhere, copies included; the
account's other browsers stay signed in. "Sign out everywhere" and a password change
or reset end every login of the account.
"""

from __future__ import annotations

from flask import current_app, g, get_template_attribute, request, session
from flask_login import current_user, login_user, logout_user
from flask_login.utils import decode_cookie
from markupsafe import Markup

from shop.auth import login_cache, logins
from shop.auth.signals import session_started
from shop.dbtypes import utcnow
from shop.extensions import db
from shop.page_shell import CSRF_MARK, memoized, personal_part

#: Flag on ``g``: delete the browser's ``remember_token`` cookie with this response.
FORGET_REMEMBER = "forget_remember_cookie"
#: Session key of the signed-in account's id: only a hint for reading its entries ahead
#: (``shop.orders.visitor.prefetch_cart_count``); the login decides who the visitor is.
ACCOUNT_HINT = "account_hint"


def load_user(login_secret: str):
    """Flask-Login's user loader: the account of the live login named in the cookie, or None.

    A dead login (ended, expired, disabled account) also drops the remember cookie with the
    response, so the browser stops sending it.
    """
    user = logins.find_login(login_secret)
    if user is None:
        g.setdefault(FORGET_REMEMBER, True)
    return user


def start_session(user, remember: bool = False) -> None:
    """Log ``user`` in on a fresh session and a new login, and commit.

    The old session is cleared first (a new session for a new identity, which also gives a
    new CSRF token) and the login it carried, if any, ends; then
    :data:`shop.auth.signals.session_started` lets other packages carry over what they kept
    in it (the cart merges the guest's cart).
    """
    previous = dict(session)
    session.clear()
    logins.end_login(previous.get("_user_id"))
    logins.start_login(user)
    login_user(user, remember=remember)
    session[ACCOUNT_HINT] = user.id
    user.last_login_at = utcnow()
    session_started.send(current_app._get_current_object(), user=user, previous_session=previous)
    db.session.commit()


def _remember_cookie_secret() -> str | None:
    """The login secret in the request's ``remember_token`` cookie (None if absent or forged)."""
    cookie = request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    return decode_cookie(cookie) if cookie else None


def end_session() -> None:
    """Log this browser out: end the login(s) its cookies name, clear the session, commit.

    The session cookie and the remember cookie may name two logins (a remembered login
    that later signed in again), so both are ended. The remember cookie is deleted with
    the response.
    """
    for secret in {session.get("_user_id"), _remember_cookie_secret()}:
        logins.end_login(secret)
    db.session.commit()
    logout_user()
    session.clear()
    g.setdefault(FORGET_REMEMBER, True)


def drop_dead_remember_cookie(response):
    """After-request hook: delete the remember cookie when the login it named is over.

    Flask-Login deletes it without ``SameSite``; this sends the same attributes the cookie
    was set with. The dead id is dropped from the session too, so it is not looked up again.
    """
    if not g.pop(FORGET_REMEMBER, False):
        return response
    user = g.get("_login_user")
    if user is not None and user.is_authenticated:
        return response  # the remember cookie, or a newer session, signed the visitor in
    session.pop("_user_id", None)
    config = current_app.config
    name = config.get("REMEMBER_COOKIE_NAME", "remember_token")
    if name in request.cookies:
        response.delete_cookie(
            name,
            domain=config.get("REMEMBER_COOKIE_DOMAIN"),
            path=config.get("REMEMBER_COOKIE_PATH", "/"),
            secure=config.get("REMEMBER_COOKIE_SECURE", False),
            httponly=config.get("REMEMBER_COOKIE_HTTPONLY", True),
            samesite=config.get("REMEMBER_COOKIE_SAMESITE"),
        )
    return response


# --- The account links of every page (personal parts, ``shop.page_shell``) ---------------


def signed_in_account() -> tuple[int, bool] | None:
    """The visitor's account as ``(id, is staff)``, or None for a guest.

    Flask-Login's account once it is loaded; before that, for a login named in the session,
    the login's cache entry (``shop.auth.login_cache``, the one the user loader would read),
    so a page that needs no more than this builds no account object. Flask-Login's session
    protection is "basic" (``shop.security``): it only marks a session not fresh, which the
    next page that loads the account does.
    """
    if g.get("_login_user") is None:
        secret = session.get("_user_id")
        if secret and isinstance(secret, str):
            summary = login_cache.cached_summary(secret, utcnow())
            if summary is not None:
                return summary
    if current_user.is_authenticated:
        return current_user.id, current_user.is_staff
    return None


def visitor_kind() -> str:
    """What the account links show this visitor: ``"staff"``, ``"customer"`` or ``"guest"``."""
    account = signed_in_account()
    if account is None:
        return "guest"
    return "staff" if account[1] else "customer"


def _prefetch_login() -> None:
    """The login named in the session is read with the page's shell."""
    login_cache.prefetch_login(session.get("_user_id"))


@personal_part("account-nav", prefetch=_prefetch_login)
def _account_nav() -> str:
    """The navigation's account links (log in and register, or orders, account, log out)."""
    kind = visitor_kind()
    return memoized(
        ("account-nav", kind),
        lambda: str(get_template_attribute("auth/_account_nav.html", "account_nav")(kind, Markup(CSRF_MARK))),
    )


@personal_part("account-link")
def _account_link() -> str:
    """The footer's "Your account" link (the account page, or the login page)."""
    kind = visitor_kind()
    return memoized(
        ("account-link", kind),
        lambda: str(get_template_attribute("auth/_account_nav.html", "account_link")(kind)),
    )
