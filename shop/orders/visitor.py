"""The visitor of this request: their cart, who they are at checkout, the orders they may
see. The one place in the cart and checkout code that asks "guest or customer?".

As django-oscar's basket middleware, the cart is resolved once per request: a customer's
cart belongs to the account, a guest's is found by the token kept in the signed session.
Views take the :class:`Cart` from here and hand it to the services, which never read the
request. On login (:data:`shop.auth.signals.session_started`) the guest's cart is merged
into the account's.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, flash, g, session
from flask_login import current_user

from shop.addresses import services as address_book
from shop.auth.signals import session_started
from shop.auth.websession import ACCOUNT_HINT, signed_in_account
from shop.exceptions import NotFound
from shop.extensions import db
from shop.orders import cart as carts
from shop.orders import cart_counts, services
from shop.orders.cart_lines import CartView
from shop.orders.models import Cart, Order
from shop.orders.schemas import COUNTRIES
from shop.pricing.discounts import Customer

#: Session key of a guest cart's token.
CART_TOKEN_KEY = "cart_token"
#: Session key of the country the cart's estimate is for.
ESTIMATE_COUNTRY_KEY = "estimate_country"
#: Session key of the guest order numbers this browser may see.
GUEST_ORDERS_KEY = "guest_orders"
#: How many guest order numbers a browser session remembers (for the order pages).
GUEST_ORDERS_REMEMBERED = 20

_UNSET = object()


@dataclass(frozen=True)
class Shopper:
    """Who is checking out: ``user_id`` and ``email`` are None for a guest (who gives an
    e-mail address on the checkout form); ``name`` pre-fills the address."""

    user_id: int | None
    email: str | None
    name: str


def shopper() -> Shopper:
    """The visitor as a shopper."""
    if current_user.is_authenticated:
        return Shopper(current_user.id, current_user.email, current_user.name or "")
    return Shopper(None, None, "")


def customer() -> Customer:
    """The visitor as a customer, for a discount code's per-customer limit (a guest's
    e-mail is not known until checkout)."""
    who = shopper()
    return Customer(who.user_id, who.email)


def estimate_country(requested: str | None = None) -> str:
    """The country the cart's estimate is for: one the visitor just chose (remembered in
    the session), else the one chosen before, else a customer's default address's, else
    the shop's ``SHOP_COUNTRY``.

    An unknown code is ignored.
    """
    code = (requested or "").strip().upper()
    if code in COUNTRIES:
        session[ESTIMATE_COUNTRY_KEY] = code
        return code
    if session.get(ESTIMATE_COUNTRY_KEY):
        return session[ESTIMATE_COUNTRY_KEY]
    default = address_book.default_address(current_user.id) if current_user.is_authenticated else None
    return default.country if default is not None else current_app.config["SHOP_COUNTRY"]


def forget_cart() -> None:
    """Drop the cart resolved for this request (a new request, or the visitor just logged in)."""
    g.pop("shop_cart", None)


def current_cart(create: bool = False) -> Cart | None:
    """The visitor's cart, resolved once per request.

    Args:
        create: make an empty cart if the visitor has none (flushes; a guest's token goes
            into the session). Without it, a visitor with no cart gets None and nothing is
            written.
    """
    cart = g.get("shop_cart", _UNSET)
    if cart is _UNSET or (cart is None and create):
        cart = _find_cart(create)
        g.shop_cart = cart
    return cart


def _find_cart(create: bool) -> Cart | None:
    """Look up (or make, with ``create``) the visitor's cart."""
    if current_user.is_authenticated:
        return carts.get_user_cart(current_user.id, create=create)
    cart = carts.get_guest_cart(session.get(CART_TOKEN_KEY))
    if cart is None and create:
        cart = carts.new_guest_cart()
        session[CART_TOKEN_KEY] = cart.token
    return cart


def current_cart_view(acknowledge: bool = True) -> CartView:
    """The visitor's cart re-checked against price and stock.

    With ``acknowledge`` the lines are stored as the shopper now sees them (committed), so
    a notice about a changed price or stock is shown once.
    """
    view = carts.review_cart(current_cart(), acknowledge=acknowledge)
    if acknowledge:
        db.session.commit()
    return view


def cart_count() -> int:
    """Total units in the visitor's cart, for the navigation bar: a customer's from the
    cache (``shop.orders.cart_counts``), a guest's with one query, none for a guest without
    a cart; one query when the page has resolved the cart anyway."""
    cart = g.get("shop_cart", _UNSET)
    if cart is not _UNSET:
        return carts.cart_quantity(cart)
    account = signed_in_account()
    if account is not None:
        return cart_counts.customer_cart_quantity(account[0])
    return carts.owner_cart_quantity(token=session.get(CART_TOKEN_KEY))


def prefetch_cart_count() -> None:
    """Have a customer's cart count read with the page's cache entries (one round trip),
    before the login is looked up: the account comes from the session's hint, and the
    count is used only if the login turns out to be that account's."""
    hint = session.get(ACCOUNT_HINT)
    if isinstance(hint, int) and "shop_cart" not in g:
        cart_counts.prefetch_count(hint)


# --- Orders this visitor may see ---------------------------------------------------------------


def remember_order(number: str) -> None:
    """Let this browser session see an order's page (a guest's order after checkout or
    look-up; harmless for a customer, whose own orders are visible anyway)."""
    numbers = [n for n in session.get(GUEST_ORDERS_KEY, []) if n != number]
    session[GUEST_ORDERS_KEY] = (numbers + [number])[-GUEST_ORDERS_REMEMBERED:]


def visible_order(number: str) -> Order:
    """The order with this number if the visitor may see it: their own, or a guest order
    this session placed or looked up. Anyone else's order aborts with 404."""
    if current_user.is_authenticated:
        try:
            return services.get_user_order(number, current_user.id)
        except NotFound:
            pass
    if number in session.get(GUEST_ORDERS_KEY, []):
        try:
            order = services.get_order_by_number(number)
        except NotFound:
            abort(404)
        if order.user_id is None:
            return order
    abort(404)


# --- Login ---------------------------------------------------------------------------------------


@session_started.connect
def carry_over_visit(_app, user, previous_session: dict, **_extra) -> None:
    """On login: keep the guest orders this browser may see, and merge the guest's cart into
    the account's (flashing what changed). The login view commits."""
    if GUEST_ORDERS_KEY in previous_session:
        session[GUEST_ORDERS_KEY] = previous_session[GUEST_ORDERS_KEY]
    forget_cart()
    guest = carts.get_guest_cart(previous_session.get(CART_TOKEN_KEY))
    if guest is None:
        return
    messages = carts.merge_carts(guest, carts.get_user_cart(user.id, create=True))
    for message in messages:
        flash(message, "info")
