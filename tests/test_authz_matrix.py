"""Authorization matrix: every route of the app, as anonymous, customer, staff and admin.

The routes come from ``app.url_map``, so a new route that is missing from ``TABLE`` fails
``test_every_route_is_in_the_table``. Each answer is classified and compared with the
table:

- ``ok``     the request reached the view (2xx, a redirect elsewhere than the login page,
             or a 400/409/422 about the request's content);
- ``login``  a page redirected an anonymous visitor to the login page;
- ``401``    the API asked for credentials;
- ``403``    authenticated but not allowed;
- ``404``    hidden: not the caller's (another user's order, cart line or token).

No answer may be a 5xx. Pages are visited with a session cookie; the API with a bearer
token holding every scope of the role (anonymous: no credentials). Unsafe requests carry
an empty form or JSON object. Resource arguments point at the customer's own order, cart
line, token and saved address, so staff and admins asking for them on the shopper routes
get a 404.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shop.addresses import services as address_services
from shop.auth import services as auth_services
from shop.catalog.sheets.preview import create_preview
from shop.catalog.sheets.reading import read_sheet
from shop.jobs import outbox
from shop.orders import cart as carts
from shop.orders.checkout import place_order
from shop.pricing import code_services
from shop.pricing import services as pricing_services
from tests.factories import ADDRESS, make_category, make_product, make_user, sign_in

ROLES = ("anonymous", "customer", "staff", "admin")
OK, LOGIN, UNAUTH, FORBID, HIDDEN = "ok", "login", "401", "403", "404"
PUBLIC = (OK, OK, OK, OK)
SIGNED_IN_PAGE = (LOGIN, OK, OK, OK)
STAFF_PAGE = (LOGIN, FORBID, OK, OK)
ADMIN_PAGE = (LOGIN, FORBID, FORBID, OK)
OWN_PAGE = (LOGIN, OK, HIDDEN, HIDDEN)  # the customer's own thing, by id
SIGNED_IN_API = (UNAUTH, OK, OK, OK)
STAFF_API = (UNAUTH, FORBID, OK, OK)
OWN_API = (UNAUTH, OK, HIDDEN, HIDDEN)

#: ``"METHOD endpoint"`` -> expected class for (anonymous, customer, staff, admin).
TABLE: dict[str, tuple[str, str, str, str]] = {
    # admin pages
    "GET admin.dashboard": STAFF_PAGE,
    "GET admin.product_list": STAFF_PAGE,
    "GET admin.product_create": STAFF_PAGE,
    "POST admin.product_create": STAFF_PAGE,
    "GET admin.product_edit": STAFF_PAGE,
    "POST admin.product_edit": STAFF_PAGE,
    "GET admin.product_archive": STAFF_PAGE,
    "POST admin.product_archive": STAFF_PAGE,
    "GET admin.product_export": STAFF_PAGE,
    "GET admin.product_import_upload": STAFF_PAGE,
    "POST admin.product_import_upload": STAFF_PAGE,
    "GET admin.product_import_detail": STAFF_PAGE,
    "POST admin.product_import_confirm": STAFF_PAGE,
    "GET admin.product_import_progress": STAFF_PAGE,
    "GET admin.order_list": STAFF_PAGE,
    "GET admin.order_detail": STAFF_PAGE,
    "POST admin.order_status": STAFF_PAGE,
    "POST admin.order_refund": STAFF_PAGE,
    "GET admin.order_packing_slip": STAFF_PAGE,
    "GET admin.job_list": STAFF_PAGE,
    "GET admin.audit_list": STAFF_PAGE,
    "GET admin.shipping_method_list": STAFF_PAGE,
    "GET admin.shipping_method_create": STAFF_PAGE,
    "POST admin.shipping_method_create": STAFF_PAGE,
    "GET admin.shipping_method_edit": STAFF_PAGE,
    "POST admin.shipping_method_edit": STAFF_PAGE,
    "GET admin.shipping_method_delete": STAFF_PAGE,
    "POST admin.shipping_method_delete": STAFF_PAGE,
    "GET admin.tax_rate_list": STAFF_PAGE,
    "GET admin.tax_rate_create": STAFF_PAGE,
    "POST admin.tax_rate_create": STAFF_PAGE,
    "GET admin.tax_rate_edit": STAFF_PAGE,
    "POST admin.tax_rate_edit": STAFF_PAGE,
    "GET admin.tax_rate_delete": STAFF_PAGE,
    "POST admin.tax_rate_delete": STAFF_PAGE,
    "GET admin.discount_code_list": STAFF_PAGE,
    "GET admin.discount_code_create": STAFF_PAGE,
    "POST admin.discount_code_create": STAFF_PAGE,
    "GET admin.discount_code_edit": STAFF_PAGE,
    "POST admin.discount_code_edit": STAFF_PAGE,
    "GET admin.discount_code_delete": STAFF_PAGE,
    "POST admin.discount_code_delete": STAFF_PAGE,
    "POST admin.job_retry": STAFF_PAGE,
    "GET admin.user_list": ADMIN_PAGE,
    "GET admin.user_role": ADMIN_PAGE,
    "POST admin.user_role": ADMIN_PAGE,
    # accounts
    "GET auth.login": PUBLIC,
    "POST auth.login": PUBLIC,
    "GET auth.register": PUBLIC,
    "POST auth.register": PUBLIC,
    "POST auth.logout": PUBLIC,
    "GET auth.reset_request": PUBLIC,
    "POST auth.reset_request": PUBLIC,
    "GET auth.reset_password": PUBLIC,
    "POST auth.reset_password": PUBLIC,
    "GET auth.account": SIGNED_IN_PAGE,
    "GET auth.change_password": SIGNED_IN_PAGE,
    "POST auth.change_password": SIGNED_IN_PAGE,
    "POST auth.sign_out_everywhere": SIGNED_IN_PAGE,
    "POST auth.token_create": SIGNED_IN_PAGE,
    "GET auth.token_revoke": OWN_PAGE,
    "POST auth.token_revoke": OWN_PAGE,
    "GET auth.address_list": SIGNED_IN_PAGE,
    "GET auth.address_new": SIGNED_IN_PAGE,
    "POST auth.address_new": SIGNED_IN_PAGE,
    "GET auth.address_edit": OWN_PAGE,
    "POST auth.address_edit": OWN_PAGE,
    "POST auth.address_make_default": OWN_PAGE,
    "GET auth.address_delete": OWN_PAGE,
    "POST auth.address_delete": OWN_PAGE,
    # catalog, search, health
    "GET catalog.home": PUBLIC,
    "GET catalog.product_list": PUBLIC,
    "GET catalog.category": PUBLIC,
    "GET catalog.product_detail": PUBLIC,
    "GET search.results": PUBLIC,
    "GET health.healthz": PUBLIC,
    "GET health.readyz": PUBLIC,
    "GET health.favicon": PUBLIC,
    "GET static": PUBLIC,
    "GET theme_css": PUBLIC,
    # Public, but the product has no stored image here: the same 404 for everyone.
    "GET product_image": (HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    # cart and checkout (every visitor has a cart; a line of another cart is not found)
    "GET orders.cart": PUBLIC,
    "POST orders.cart_add": PUBLIC,
    "POST orders.cart_discount_apply": PUBLIC,
    "POST payments.pay": (HIDDEN, OK, HIDDEN, HIDDEN),
    "POST payments.stripe_webhook": PUBLIC,  # 400 without Stripe's signature
    "POST orders.cart_discount_remove": PUBLIC,
    "POST orders.cart_update": (HIDDEN, OK, HIDDEN, HIDDEN),
    "POST orders.cart_remove": (HIDDEN, OK, HIDDEN, HIDDEN),
    "GET orders.checkout_page": PUBLIC,
    "POST orders.checkout_submit": PUBLIC,
    # orders pages
    "GET orders.order_list": PUBLIC,  # guests are sent to the order look-up page
    "GET orders.order_detail": (HIDDEN, OK, HIDDEN, HIDDEN),
    "GET orders.order_confirmation": (HIDDEN, OK, HIDDEN, HIDDEN),
    "POST orders.order_cancel": (HIDDEN, OK, HIDDEN, HIDDEN),
    "GET orders.guest_lookup": PUBLIC,
    "POST orders.guest_lookup": PUBLIC,
    # API: documents and accounts
    "GET api-docs.openapi_json": PUBLIC,
    "POST auth_api.register": PUBLIC,
    "POST auth_api.token_create": PUBLIC,
    "GET auth_api.me": SIGNED_IN_API,
    "GET auth_api.token_list": SIGNED_IN_API,
    "DELETE auth_api.token_revoke": OWN_API,
    "GET auth_api.address_list": SIGNED_IN_API,
    "POST auth_api.address_create": SIGNED_IN_API,
    "GET auth_api.address_get": OWN_API,
    "PATCH auth_api.address_update": OWN_API,
    "DELETE auth_api.address_delete": OWN_API,
    # API: catalog and search
    "GET catalog_api.categories": PUBLIC,
    "GET catalog_api.products": PUBLIC,
    "GET catalog_api.product": PUBLIC,
    "PATCH catalog_api.update": STAFF_API,
    "GET search_api.suggest": PUBLIC,
    "GET search_api.search": PUBLIC,
    # API: cart and orders
    "GET orders_api.cart_get": SIGNED_IN_API,
    "PUT orders_api.cart_discount_code_put": SIGNED_IN_API,
    "DELETE orders_api.cart_discount_code_delete": SIGNED_IN_API,
    "GET pricing_api.shipping_method_list": PUBLIC,
    "POST orders_api.cart_item_add": SIGNED_IN_API,
    "PATCH orders_api.cart_item_update": OWN_API,
    "DELETE orders_api.cart_item_delete": OWN_API,
    "GET orders_api.order_list": SIGNED_IN_API,
    "POST orders_api.order_create": SIGNED_IN_API,
    "GET orders_api.order_get": SIGNED_IN_API,  # staff and admins see every order
    "POST orders_api.order_cancel": SIGNED_IN_API,  # ... and may cancel it
    "POST orders_api.order_transition": STAFF_API,
    "POST payments_api.refund_create": STAFF_API,
    "GET payments_api.refund_list": STAFF_API,
}

IGNORED_METHODS = {"HEAD", "OPTIONS"}
#: Valid bodies where an empty one would be refused before the ownership check.
BODIES = {
    "orders.cart_update": {"quantity": "1"},
    "orders_api.cart_item_update": {"quantity": 1},
    "auth_api.address_update": {"line2": "Suite 5"},
}


def app_routes(app) -> set[str]:
    """Every ``"METHOD endpoint"`` the app serves."""
    keys = set()
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - IGNORED_METHODS):
            keys.add(f"{method} {rule.endpoint}")
    return keys


def test_every_route_is_in_the_table(app):
    routes = app_routes(app)
    missing = sorted(routes - set(TABLE))
    stale = sorted(set(TABLE) - routes)
    assert not missing, f"routes without an entry in the authorization table: {missing}"
    assert not stale, f"table entries for routes that no longer exist: {stale}"


@pytest.fixture
def world(app, db):
    """A catalog, one user per role, and the customer's cart line, order, spare token and
    saved address."""
    category = make_category("Laptops")
    product = make_product(stock=50, category=category)
    other = make_product(stock=50, category=category)
    users = {role: make_user(f"{role}@example.com", role=role) for role in ("customer", "staff", "admin")}
    customer = users["customer"]
    db.session.commit()
    carts.add_item(carts.get_user_cart(customer.id, create=True), product.sku, 1)
    order = place_order(
        cart=carts.get_user_cart(customer.id),
        user_id=customer.id,
        email=customer.email,
        shipping_address=ADDRESS,
        payment_provider="manual",
    ).order
    line = carts.add_item(carts.get_user_cart(customer.id, create=True), other.sku, 1)
    spare, _ = auth_services.create_api_token(customer, "spare")
    address = address_services.add_address(customer.id, ADDRESS)
    message = outbox.add_message(
        "order_confirmation", customer.email, {"order_id": order.id, "order_url": "/"}
    )
    bearer = {role: auth_services.create_api_token(user, "matrix")[1] for role, user in users.items()}
    method = pricing_services.create_shipping_method(
        {"name": "Std", "price_cents": 495, "min_days": 1, "max_days": 3}
    )
    rate = pricing_services.create_tax_rate({"country": "US", "name": "Sales tax", "rate_bp": 500})
    code = code_services.create_discount_code({"code": "MATRIX", "kind": "fixed", "value": 100})
    sheet = create_preview(
        read_sheet(b"sku,price\n" + product.sku.encode() + b",1.00\n"), "m.csv", None, "USD"
    )
    db.session.commit()
    args = {
        "slug": product.slug,
        "product_id": product.id,
        "number": order.number,
        "item_id": line.id,
        "token_id": spare.id,
        "user_id": customer.id,
        "filename": "css/shop.css",
        "token": "not-a-reset-token",
        "message_id": message.id,
        "method_id": method.id,
        "rate_id": rate.id,
        "code_id": code.id,
        "address_id": address.id,
        "import_id": sheet.id,
        "key": product.sku,
        "size": 96,
    }
    return {"users": users, "bearer": bearer, "args": args, "category": category}


def _url(app, endpoint: str, world) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {name: world["args"][name] for name in rule.arguments}
    if endpoint == "catalog.category":
        values["slug"] = world["category"].slug
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


def classify(resp) -> str:
    """Map an answer to one of the table's classes."""
    code = resp.status_code
    if code >= 500:
        return f"5xx ({code})"
    if code in (301, 302, 303, 307) and "/auth/login" in resp.headers.get("Location", ""):
        return LOGIN
    if code in (401, 403, 404):
        return str(code)
    if code < 400 or code in (400, 409, 413, 422):
        return OK
    return str(code)


def _request(app, world, role: str, method: str, endpoint: str):
    client = app.test_client()
    url = _url(app, endpoint, world)
    headers = {}
    is_api = url.startswith("/api/")
    if role != "anonymous":
        user = world["users"][role]
        if is_api:
            headers["Authorization"] = f"Bearer {world['bearer'][role]}"
        else:
            sign_in(client, user)
    if role == "customer" and endpoint == "orders.order_confirmation":
        with client.session_transaction() as sess:
            sess["guest_orders"] = []
    kwargs = {"headers": headers}
    if method in ("POST", "PATCH", "PUT"):
        body = BODIES.get(endpoint, {})
        kwargs["json" if is_api else "data"] = body
    return client.open(url, method=method, **kwargs)


@pytest.mark.parametrize("key", sorted(TABLE))
def test_route_answers_match_the_table(app, world, key):
    method, endpoint = key.split(" ", 1)
    if endpoint not in {r.endpoint for r in app.url_map.iter_rules()}:
        pytest.fail(f"{endpoint} is in the table but not in the app")
    got = tuple(classify(_request(app, world, role, method, endpoint)) for role in ROLES)
    assert got == TABLE[key], f"{key}: expected {dict(zip(ROLES, TABLE[key]))}, got {dict(zip(ROLES, got))}"


# ---- ownership: a customer asking for another customer's things gets a 404 ----------------


@pytest.fixture
def intruder(world, db):
    """A second customer, signed in on a page client and holding a bearer token."""
    user = make_user("intruder@example.com")
    _, secret = auth_services.create_api_token(user, "intruder")
    db.session.commit()
    return {"user": user, "bearer": {"Authorization": f"Bearer {secret}"}}


def _page_client(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def _state(db, world):
    """What the intruder must not be able to change: the victim's order, cart line and token."""
    from shop.auth.models import ApiToken
    from shop.orders.models import CartItem, Order

    db.session.expire_all()
    args = world["args"]
    order = db.session.scalar(select(Order).where(Order.number == args["number"]))
    line = db.session.get(CartItem, args["item_id"])
    token = db.session.get(ApiToken, args["token_id"])
    return order.status, (line.quantity if line else None), token.revoked_at


def test_another_customers_order_cart_line_and_token_are_404_in_api(app, db, world, intruder):
    args, headers = world["args"], intruder["bearer"]
    client = app.test_client()
    before = _state(db, world)
    answers = {
        "order": client.get(f"/api/v1/orders/{args['number']}", headers=headers),
        "cancel": client.post(f"/api/v1/orders/{args['number']}/cancel", json={}, headers=headers),
        "line update": client.patch(
            f"/api/v1/cart/items/{args['item_id']}", json={"quantity": 3}, headers=headers
        ),
        "line delete": client.delete(f"/api/v1/cart/items/{args['item_id']}", headers=headers),
        "token": client.delete(f"/api/v1/auth/tokens/{args['token_id']}", headers=headers),
    }
    for what, resp in answers.items():
        assert resp.status_code == 404, what
        assert resp.headers["Content-Type"] == "application/problem+json", what
    listing = client.get("/api/v1/orders", headers=headers).get_json()
    assert listing["data"] == [] and listing["meta"]["total"] == 0
    assert _state(db, world) == before


def test_another_customers_order_cart_line_and_token_are_404_in_pages(app, db, world, intruder):
    args = world["args"]
    client = _page_client(app, intruder["user"])
    before = _state(db, world)
    assert client.get(f"/orders/{args['number']}").status_code == 404
    assert client.get(f"/orders/{args['number']}/thanks").status_code == 404
    assert client.post(f"/orders/{args['number']}/cancel").status_code == 404
    assert client.get(f"/account/tokens/{args['token_id']}/revoke").status_code == 404
    assert client.post(f"/account/tokens/{args['token_id']}/revoke").status_code == 404
    assert client.post(f"/cart/items/{args['item_id']}", data={"quantity": "3"}).status_code == 404
    assert client.post(f"/cart/items/{args['item_id']}/remove").status_code == 404
    assert args["number"].encode() not in client.get("/orders").data
    assert _state(db, world) == before
