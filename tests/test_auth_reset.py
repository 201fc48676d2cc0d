"""Password reset: e-mailed, single-use, expiring, stored hashed; it ends other sessions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from shop.auth import logins, services
from shop.auth.models import PasswordResetToken, User
from shop.dbtypes import utcnow
from shop.exceptions import ValidationFailed
from shop.mail import clear_outbox, outbox
from tests.factories import PASSWORD, make_user

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(autouse=True)
def _empty_outbox():
    clear_outbox()
    yield
    clear_outbox()


def _link_from_mail() -> str:
    assert len(outbox()) == 1
    body = outbox()[0].get_content()
    return re.search(r"http://localhost(/auth/reset/\S+)", body).group(1)


def test_request_page_does_not_reveal_whether_account_exists(client, db):
    make_user("real@example.com")
    db.session.commit()
    known = client.post("/auth/reset", data={"email": "REAL@example.com"}, follow_redirects=True)
    unknown = client.post("/auth/reset", data={"email": "ghost@example.com"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    message = b"If an account exists for that address"
    assert message in known.data and message in unknown.data
    assert len(outbox()) == 1 and outbox()[0]["To"] == "real@example.com"
    assert len(db.session.scalars(select(PasswordResetToken)).all()) == 1


def test_reset_token_stored_hashed_single_use_and_ends_sessions(app, client, db, auth):
    user = make_user("reset@example.com")
    db.session.commit()
    # Another device is logged in.
    other = app.test_client()
    other.post("/auth/login", data={"email": "reset@example.com", "password": PASSWORD})
    assert other.get("/account").status_code == 200

    client.post("/auth/reset", data={"email": "reset@example.com"})
    link = _link_from_mail()
    secret = link.rsplit("/", 1)[1]
    row = db.session.scalar(select(PasswordResetToken))
    assert row.token_hash == services.sha256_hex(secret) and secret not in row.token_hash

    assert client.get(link).status_code == 200
    weak = client.post(link, data={"password": "12345678", "confirm": "12345678"})
    assert weak.status_code == 200 and b"too common" in weak.data  # the token is not spent
    done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/auth/login")

    db.session.expire_all()
    assert logins.count_logins(db.session.get(User, user.id)) == 0
    assert db.session.scalar(select(PasswordResetToken)).used_at is not None
    assert other.get("/account").status_code == 302  # the other session has ended
    # Second use fails.
    again = client.post(
        link, data={"password": "yet another passphrase", "confirm": "yet another passphrase"}
    )
    assert again.status_code == 400 and b"invalid or has expired" in again.data
    assert auth.login("reset@example.com", PASSWORD).status_code == 200  # old password gone
    assert auth.login("reset@example.com", NEW_PASSWORD).status_code == 302


def test_expired_reset_token_fails(client, db):
    user = make_user("late@example.com")
    _, secret = services.request_password_reset("late@example.com", ttl=timedelta(minutes=30))
    db.session.commit()
    row = db.session.scalar(select(PasswordResetToken))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    resp = client.get(f"/auth/reset/{secret}")
    assert resp.status_code == 400 and b"invalid or has expired" in resp.data
    resp = client.post(f"/auth/reset/{secret}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert resp.status_code == 400
    with pytest.raises(ValidationFailed):
        services.reset_password(secret, NEW_PASSWORD)
    db.session.rollback()
    db.session.expire_all()
    assert services.authenticate("late@example.com", PASSWORD).id == user.id


def test_service_expiry_boundary_and_new_request_voids_old_link(db):
    make_user("twice@example.com")
    now = utcnow()
    _, first = services.request_password_reset("twice@example.com", ttl=timedelta(hours=1))
    _, second = services.request_password_reset("twice@example.com", ttl=timedelta(hours=1))
    db.session.commit()
    with pytest.raises(ValidationFailed):
        services.check_reset_token(first)  # superseded
    assert services.check_reset_token(second, now=now + timedelta(minutes=59))
    with pytest.raises(ValidationFailed):
        services.check_reset_token(second, now=now + timedelta(hours=1, seconds=1))
    assert services.request_password_reset("nobody@example.com") is None
