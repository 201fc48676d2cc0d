"""flask-talisman with its constant headers built once instead of on every response.

Talisman rebuilds the same headers (the CSP string, ``X-Frame-Options``, ``Referrer-Policy``,
...) for every response, and both of its before-request hooks look up the view's options
even when no view has any. Here, a response whose view has no options of its own
(``@talisman(...)``) and whose CSP carries no nonce gets the headers Talisman itself made
for the first such response, one list per "secure or not" (HSTS is only sent over HTTPS);
anything else goes through Talisman's own code. The headers and their values are
Talisman's, so ``init_app``'s settings stay the only place they are configured.
"""

from __future__ import annotations

from flask import request
from flask_talisman import Talisman
from werkzeug.wrappers import Response


class ConstantHeadersTalisman(Talisman):
    """:class:`flask_talisman.Talisman` that sends its response headers from a list made once
    per process (and per ``request is secure``) when the view has no options of its own."""

    def init_app(self, app, **kwargs) -> None:
        """Talisman's ``init_app``; forgets the headers made for an earlier configuration."""
        self._constant_headers: dict[bool, tuple[list[tuple[str, str]], frozenset[str]]] = {}
        super().init_app(app, **kwargs)

    def _own_options(self) -> bool:
        """Whether this request needs Talisman's per-request path: the view has options of
        its own, or the CSP carries a nonce."""
        view = self.app.view_functions.get(request.endpoint)
        return hasattr(view, "talisman_view_options") or bool(self.content_security_policy_nonce_in)

    def _force_https(self):
        if self.force_https or self._own_options():
            return super()._force_https()
        if self.session_cookie_secure and not self.app.debug:
            self.app.config["SESSION_COOKIE_SECURE"] = True
        return None

    def _make_nonce(self):
        if self._own_options():
            super()._make_nonce()

    def _set_response_headers(self, response):
        if self._own_options():
            return super()._set_response_headers(response)
        secure = request.is_secure or request.headers.get("X-Forwarded-Proto", "http") == "https"
        made = self._constant_headers.get(secure)
        if made is None:
            scratch = Response()
            before = set(scratch.headers.keys())
            super()._set_response_headers(scratch)
            constant = [(k, v) for k, v in scratch.headers.items() if k not in before]
            made = self._constant_headers[secure] = (constant, frozenset(k.lower() for k, _ in constant))
        constant, names = made
        headers = response.headers
        if names.isdisjoint(k.lower() for k in headers.keys()):
            headers.extend(constant)  # none there yet: appended, not searched for
        else:
            for name, value in constant:
                headers[name] = value  # replaced, as Talisman does
        return response
