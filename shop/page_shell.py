"""Catalog pages for visitors with a session, built from a cached *shell* of the page.

A visitor with a session (a customer, a staff member, a guest with a cart) cannot be sent
the public copy of a catalog page (:mod:`shop.http_caching`): their page carries a form
token, a cart count, their account's links and maybe a flashed message. Everything else
on it is the same for every such visitor, so the page is rendered once with *marks* where
the personal parts go, cached like the public page (catalog version and stock stamps), and
each request fills in only its own parts:

- ``<!--shop:part:NAME-->``: a personal part registered with :func:`personal_part`: the
  flashed messages (here), the cart badge (``shop.orders.views``), the account links of
  the navigation and the footer (``shop.auth.websession``). A part may ask for its cache
  entries ahead (``prefetch``), so they come in the shell's round trip; a part that is the
  same for all visitors of a kind is kept in memory (:func:`memoized`).
- ``<!--shop:csrf-->``: the session's CSRF token (Flask-WTF's ``generate_csrf``), in the
  ``csrf-token`` meta tag and in every form (the logout form of the account links too:
  it is filled in last).

The marks are HTML comments: nothing the catalog holds can produce one, because Jinja
escapes every ``<`` of the data. The filled page is personal (``private, no-store``, set by
:mod:`shop.http_caching`) and never stored; the shell holds no visitor's data.
"""

from __future__ import annotations

import re
from typing import Callable

from flask import current_app, g, get_flashed_messages, get_template_attribute
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

#: Stands for the session's CSRF token in a shell.
CSRF_MARK = "<!--shop:csrf-->"
_PART_MARK = "<!--shop:part:%s-->"
_SHELL_FLAG = "shop_rendering_shell"

#: ``{name: render}``: the personal parts of a page; ``render()`` returns its HTML.
_PARTS: dict[str, Callable[[], str]] = {}


#: Callables that ask for the personal parts' cache entries ahead (``shop.cache.prefetch``).
_PREFETCHES: list[Callable[[], None]] = []


def personal_part(
    name: str, prefetch: Callable[[], None] | None = None
) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Register ``render()`` (returning HTML) as the personal part ``name`` of every page;
    templates place it with ``{{ personal('NAME') }}``. ``prefetch()``, if given, asks for
    the cache entries ``render()`` reads, so they come with the page's shell."""

    def register(render: Callable[[], str]) -> Callable[[], str]:
        _PARTS[name] = render
        if prefetch is not None and prefetch not in _PREFETCHES:
            _PREFETCHES.append(prefetch)
        return render

    return register


def prefetch_parts() -> None:
    """Ask for the personal parts' cache entries with the next catalog read."""
    for prefetch in _PREFETCHES:
        prefetch()


def rendering_shell() -> bool:
    """Whether this request is rendering a shell (marks instead of personal parts)."""
    return bool(g.get(_SHELL_FLAG))


def personal(name: str) -> Markup:
    """Template global: the personal part ``name`` for this visitor, or its mark while a
    shell is rendered; ``""`` when nothing registered it."""
    render = _PARTS.get(name)
    if render is None:
        return Markup("")
    if rendering_shell():
        return Markup(_PART_MARK % name)
    html = render()
    return Markup(html.replace(CSRF_MARK, generate_csrf()) if CSRF_MARK in html else html)


def memoized(key: tuple, render: Callable[[], str]) -> str:
    """``render()`` kept in this process's memory under ``key`` (per app): for a part that
    is the same for every visitor of a kind (a :data:`CSRF_MARK` stands for a token)."""
    memo = current_app.extensions.setdefault("shop_page_parts", {})
    html = memo.get(key)
    if html is None:
        html = memo[key] = render()
    return html


@personal_part("flashes")
def _flashes() -> str:
    """The messages flashed to this session (each shown once, then gone)."""
    messages = get_flashed_messages(with_categories=True)
    if not messages:
        return ""
    return str(get_template_attribute("_flashes.html", "flashes")(messages))


def render_shell(build: Callable[[], tuple[str, dict | None]]) -> tuple[str, dict | None]:
    """``build()`` (``(html, stamps)``) rendered with marks in place of the personal parts."""
    setattr(g, _SHELL_FLAG, True)
    try:
        return build()
    finally:
        g.pop(_SHELL_FLAG, None)


#: A mark in a shell; the name is ``csrf`` or ``part:NAME``.
_MARK = re.compile(r"<!--shop:(csrf|part:[a-z-]+)-->")


def split_shell(html: str) -> tuple[str, ...]:
    """The shell as it is cached: its text cut at the marks, ``(text, mark name, text,
    ..., text)``, so that filling it in is one join rather than a search per mark."""
    return tuple(_MARK.split(html))


def fill_shell(shell: tuple[str, ...] | str) -> str:
    """The shell (:func:`split_shell`) with this visitor's personal parts put in (the CSRF
    token made only if the page has a form or the meta tag)."""
    pieces = list(split_shell(shell) if isinstance(shell, str) else shell)
    token = None
    for i in range(1, len(pieces), 2):
        name = pieces[i]
        if name == "csrf":
            html = CSRF_MARK
        else:
            render = _PARTS.get(name[len("part:") :])
            html = render() if render is not None else ""
        if CSRF_MARK in html:  # the meta tag, a form, or a part holding a form
            token = token or generate_csrf()
            html = html.replace(CSRF_MARK, token)
        pieces[i] = html
    return "".join(pieces)
