"""Signals the auth package sends, so other packages can act on a login without auth
importing them (the cart merges a guest's cart on ``session_started``)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent when a user logs in on a fresh session, before the login is committed.
#: ``sender`` is the app; keyword arguments: ``user`` (the :class:`~shop.auth.models.User`)
#: and ``previous_session`` (a dict copy of the visitor's session before it was cleared,
#: so a receiver can carry over what it kept there). Receivers flush; the sender commits.
session_started = _signals.signal("session-started")
