"""Account pages: register, log in and out, the account page and its API tokens."""

from __future__ import annotations

from sqlalchemy import select

from shop.auth import logins, services
from shop.auth.models import ApiToken, User
from tests.factories import PASSWORD, make_product, make_user


def test_register_creates_a_customer_and_logs_in(client, db):
    resp = client.post(
        "/auth/register",
        data={
            "email": "  New.Person@Example.COM ",
            "name": "New Person",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert resp.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new.person@example.com"))
    assert user is not None and user.role == "customer" and user.name == "New Person"
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash
    page = client.get("/account")
    assert page.status_code == 200 and b"new.person@example.com" in page.data


def test_register_refuses_same_email_in_other_case(client, db):
    make_user("a@x.com")
    db.session.commit()
    resp = client.post(
        "/auth/register",
        data={
            "email": "A@X.com",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert resp.status_code == 200
    assert b"Already registered." in resp.data and b"is-invalid" in resp.data
    assert db.session.scalar(select(User.id).where(User.email == "a@x.com")) is not None
    assert len(db.session.scalars(select(User)).all()) == 1


def test_register_shows_password_rules_inline(client, db):
    for password, message in (
        ("short", b"at least 8"),
        ("password123", b"too common"),
        ("iloveyou1", b"too common"),
    ):
        resp = client.post(
            "/auth/register",
            data={
                "email": "p@example.com",
                "password": password,
                "confirm": password,
            },
        )
        assert resp.status_code == 200
        assert message in resp.data and b"invalid-feedback" in resp.data
    resp = client.post(
        "/auth/register", data={"email": "not-an-email", "password": PASSWORD, "confirm": PASSWORD}
    )
    assert b"invalid-feedback" in resp.data
    assert db.session.scalars(select(User)).all() == []


def test_login_normalizes_email_and_same_message_for_unknown_and_wrong(client, db, auth):
    make_user("shopper@example.com")
    db.session.commit()
    wrong = auth.login("shopper@example.com", "wrong password here")
    unknown = auth.login("nobody@example.com", "wrong password here")
    assert wrong.status_code == unknown.status_code == 200
    assert b"Invalid e-mail or password." in wrong.data and b"Invalid e-mail or password." in unknown.data
    assert client.get("/account").status_code == 302  # still anonymous
    ok = auth.login("  SHOPPER@Example.com", PASSWORD)
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert client.get("/account").status_code == 200
    user = db.session.scalar(select(User).where(User.email == "shopper@example.com"))
    assert user.last_login_at is not None


def test_login_renews_the_session_but_keeps_the_guest_cart(client, db, auth):
    user = make_user("cart@example.com")
    product = make_product(stock=5)
    db.session.commit()
    client.post("/cart/add", data={"sku": product.sku, "quantity": "2"})
    with client.session_transaction() as sess:
        sess["stale_marker"] = "from-before-login"
    resp = auth.login("cart@example.com")
    assert resp.status_code == 302
    with client.session_transaction() as sess:
        assert "stale_marker" not in sess  # the old session is gone
        assert "cart_token" not in sess  # the guest cart moved into the account
        secret = sess.get("_user_id")
    assert logins.find_login(secret) == user  # the session names the new login
    from shop.orders.models import Cart, CartItem

    cart = db.session.scalar(select(Cart).where(Cart.user_id == user.id))
    items = db.session.scalars(select(CartItem).where(CartItem.cart_id == cart.id)).all()
    assert [(i.product_id, i.quantity) for i in items] == [(product.id, 2)]


def test_logout_is_post_only_and_ends_the_session(client, db, auth):
    make_user("out@example.com")
    db.session.commit()
    auth.login("out@example.com")
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/account").status_code == 200
    resp = auth.logout()
    assert resp.status_code == 302
    assert client.get("/account").status_code == 302


def test_account_requires_login(client):
    resp = client.get("/account")
    assert resp.status_code == 302 and "/auth/login?next=%2Faccount" in resp.headers["Location"]


def test_account_token_create_shows_secret_once_and_revoke(client, db, auth):
    user = make_user("tok@example.com")
    db.session.commit()
    auth.login("tok@example.com")
    resp = client.post(
        "/account/tokens", data={"name": "sync script", "scopes": ["read"], "expires_in_days": "7"}
    )
    assert resp.status_code == 201
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.name == "sync script" and token.scope_list == ["read"]
    secret = resp.get_data(as_text=True).split('value="shop_')[1].split('"')[0]
    secret = "shop_" + secret
    assert services.sha256_hex(secret) == token.token_hash
    # The secret works for the API and is never shown again.
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    again = client.get("/account")
    assert secret.encode() not in again.data and token.prefix.encode() in again.data
    # Revoke: a confirmation page, then the POST.
    confirm = client.get(f"/account/tokens/{token.id}/revoke")
    assert confirm.status_code == 200 and b"Revoke token" in confirm.data
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_account_cannot_revoke_another_users_token(client, db, auth):
    other = make_user("other@example.com")
    token, _ = services.create_api_token(other, "theirs")
    make_user("me@example.com")
    db.session.commit()
    auth.login("me@example.com")
    assert client.get(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is None


def test_customer_cannot_create_a_staff_scope_token(client, db, auth):
    user = make_user("c@example.com")
    db.session.commit()
    auth.login("c@example.com")
    resp = client.post("/account/tokens", data={"name": "x", "scopes": ["catalog-write"]})
    assert resp.status_code == 422
    assert db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all() == []
