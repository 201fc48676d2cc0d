"""The Flask class the shop runs on, and its session interface: Flask's own, minus work that
every request paid for nothing.

Every anonymous request runs some twenty hooks, and a browsing visitor has no session
cookie (``shop.http_caching``), so two things Flask does on each request are wasted:

- ``ensure_sync`` asks ``inspect.iscoroutinefunction`` about every hook and view on every
  call; :class:`ShopFlask` remembers the answer per function (the shop has no async views);
- ``url_for`` runs Werkzeug's URL building (some forty times for a page: navigation,
  footer, stylesheets); :class:`ShopFlask` remembers the relative URLs it built, per
  script root, endpoint and values;
- opening a session builds an ``itsdangerous`` serializer (key list, signer, salt) even
  when the request has no session cookie to read, and saving one looks up seven cookie
  settings before finding the session empty; :class:`LeanSessionInterface` skips both
  when there is no cookie and nothing was written. Sessions with a cookie take Flask's
  path unchanged.
"""

from __future__ import annotations

from typing import Any, Callable

from flask import Flask
from flask.globals import _cv_request
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


#: At most this many URLs are remembered per process (then the memory starts afresh).
URL_MEMO_LIMIT = 4096
#: At most this many functions' answers are kept (``after_this_request`` adds a new function
#: per request; past the limit the memory starts afresh).
SYNC_MEMO_LIMIT = 1024


class ShopFlask(Flask):
    """:class:`flask.Flask` with ``ensure_sync`` remembered per function and relative URLs
    remembered per script root, endpoint and values."""

    session_interface = LeanSessionInterface()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_functions: dict[Callable[..., Any], Callable[..., Any]] = {}
        self._relative_urls: dict[tuple, str] = {}

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

    def url_for(
        self,
        /,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: Any,
    ) -> str:
        """Flask's ``url_for``. In a request, a relative URL (no anchor, method, scheme or
        ``_external``; an absolute endpoint name; no ``url_defaults`` functions) is built
        once per script root, endpoint and values (their types too: ``1`` and ``True``
        differ) and then remembered; anything else is built every time."""
        ctx = _cv_request.get(None)
        if (
            ctx is None
            or _anchor is not None
            or _method is not None
            or _scheme is not None
            or _external
            or endpoint[:1] == "."
            or self.url_default_functions
        ):
            return super().url_for(
                endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external, **values
            )
        key = (ctx.request.script_root, endpoint, tuple(values.items()), tuple(map(type, values.values())))
        try:
            return self._relative_urls[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable value (a list of values): build it every time
            return super().url_for(endpoint, _external=_external, **values)
        url = super().url_for(endpoint, _external=_external, **values)
        if len(self._relative_urls) >= URL_MEMO_LIMIT:
            self._relative_urls.clear()
        self._relative_urls[key] = url
        return url
