"""The Flask class the shop runs on, and its session interface: Flask's own, minus work that
every request paid for nothing.

Every anonymous request runs some twenty hooks, and a browsing visitor has no session
cookie (``shop.http_caching``), so two things Flask does on each request are wasted:

- ``ensure_sync`` asks ``inspect.iscoroutinefunction`` about every hook and view on every
  call; :class:`ShopFlask` remembers the answer per function (the shop has no async views);
- opening a session builds an ``itsdangerous`` serializer (key list, signer, salt) even
  when the request has no session cookie to read, and saving one looks up seven cookie
  settings before finding the session empty; :class:`LeanSessionInterface` skips both
  when there is no cookie and nothing was written. Sessions with a cookie take Flask's
  path unchanged.
"""

from __future__ import annotations

from typing import Any, Callable

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


class LeanSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions; a request without the cookie opens an empty session
    without building a serializer, and an empty session nobody changed is saved (no cookie,
    ``Vary: Cookie`` if it was read) without reading the cookie settings."""

    def open_session(self, app: Flask, request):
        """An empty session when the request carries no session cookie (None without a
        ``SECRET_KEY``, as Flask does); otherwise Flask's ``open_session``."""
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class() if app.secret_key else None
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        """For an empty session nobody changed, what Flask does without looking up the cookie
        settings: ``Vary: Cookie`` if the session was read, and no cookie; otherwise Flask's
        ``save_session``."""
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


#: At most this many functions' answers are kept (``after_this_request`` adds a new function
#: per request; past the limit the memory starts afresh).
SYNC_MEMO_LIMIT = 1024


class ShopFlask(Flask):
    """:class:`flask.Flask` with ``ensure_sync`` remembered per function."""

    session_interface = LeanSessionInterface()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_functions: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's ``ensure_sync(func)`` (a coroutine function is wrapped to run synchronously),
        computed once per function."""
        try:
            return self._sync_functions[func]
        except KeyError:
            pass
        except TypeError:  # an unhashable callable: ask Flask every time
            return super().ensure_sync(func)
        if len(self._sync_functions) >= SYNC_MEMO_LIMIT:
            self._sync_functions.clear()
        synced = self._sync_functions[func] = super().ensure_sync(func)
        return synced
