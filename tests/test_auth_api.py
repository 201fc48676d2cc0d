"""Accounts JSON API: register, tokens, the caller; request-body rules as problem+json."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from shop.auth import services
from shop.auth.models import ApiToken, User
from shop.dbtypes import utcnow
from tests.factories import PASSWORD, make_user

PROBLEM = "application/problem+json"


def _token(client, email, password=PASSWORD, **extra):
    return client.post("/api/v1/auth/tokens", json={"email": email, "password": password, **extra})


def _bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def test_register_201_409_422(client, db):
    resp = client.post(
        "/api/v1/auth/register", json={"email": "Api@Example.com", "password": PASSWORD, "name": "Api"}
    )
    assert resp.status_code == 201
    data = resp.get_json()["data"]
    assert data["email"] == "api@example.com" and data["role"] == "customer" and data["name"] == "Api"
    assert "password" not in str(data) and "password_hash" not in data
    assert db.session.scalar(select(User).where(User.email == "api@example.com")) is not None

    dup = client.post("/api/v1/auth/register", json={"email": "API@example.COM", "password": PASSWORD})
    assert dup.status_code == 409 and dup.headers["Content-Type"] == PROBLEM
    assert dup.get_json()["errors"] == {"email": ["Already registered."]}

    weak = client.post("/api/v1/auth/register", json={"email": "w@example.com", "password": "qwerty123"})
    assert weak.status_code == 422 and weak.headers["Content-Type"] == PROBLEM
    assert "password" in weak.get_json()["errors"]

    missing = client.post("/api/v1/auth/register", json={"email": "m@example.com"})
    body = missing.get_json()
    assert missing.status_code == 422 and body["errors"]["password"] and body["status"] == 422

    bad_email = client.post("/api/v1/auth/register", json={"email": "nope", "password": PASSWORD})
    assert bad_email.status_code == 422 and "email" in bad_email.get_json()["errors"]
    unknown = client.post(
        "/api/v1/auth/register", json={"email": "u@example.com", "password": PASSWORD, "role": "admin"}
    )
    assert unknown.status_code == 422 and "role" in unknown.get_json()["errors"]
    assert db.session.scalar(select(User).where(User.email == "u@example.com")) is None


def test_token_create_defaults_and_secret_shown_once(app, client, db):
    staff = make_user("staff@example.com", role="staff")
    db.session.commit()
    resp = _token(client, "STAFF@example.com", name="ci")
    assert resp.status_code == 201
    data = resp.get_json()["data"]
    assert data["token"].startswith("shop_") and data["prefix"] == data["token"][: len(data["prefix"])]
    assert data["scopes"] == ["read", "orders", "catalog-write"]  # every scope the role allows
    row = db.session.get(ApiToken, data["id"])
    assert row.user_id == staff.id and row.token_hash == services.sha256_hex(data["token"])
    ttl = app.config["API_TOKEN_DEFAULT_TTL"]
    assert abs((row.expires_at - (utcnow() + ttl)).total_seconds()) < 60

    listing = client.get("/api/v1/auth/tokens", headers=_bearer(data["token"]))
    assert listing.status_code == 200
    body = listing.get_json()
    assert body["meta"]["total"] == 1 and body["data"][0]["id"] == data["id"]
    assert "token" not in body["data"][0] and data["token"] not in listing.get_data(as_text=True)

    me = client.get("/api/v1/auth/me", headers=_bearer(data["token"]))
    assert me.status_code == 200 and me.get_json()["data"]["email"] == "staff@example.com"


def test_token_create_scopes_and_expiry(client, db):
    make_user("cust@example.com")
    db.session.commit()
    resp = _token(client, "cust@example.com", scopes=["read"], expires_in_days=2)
    data = resp.get_json()["data"]
    assert resp.status_code == 201 and data["scopes"] == ["read"]
    assert data["expires_at"] is not None
    too_much = _token(client, "cust@example.com", scopes=["catalog-write"])
    assert too_much.status_code == 422 and "scopes" in too_much.get_json()["errors"]
    bogus = _token(client, "cust@example.com", scopes=["root"])
    assert bogus.status_code == 422
    assert len(db.session.scalars(select(ApiToken)).all()) == 1


def test_token_create_401_same_for_unknown_and_wrong(client, db):
    make_user("who@example.com")
    db.session.commit()
    wrong = _token(client, "who@example.com", "not the password")
    unknown = _token(client, "ghost@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["Content-Type"] == PROBLEM
    assert wrong.get_json()["detail"] == unknown.get_json()["detail"] == "Invalid e-mail or password."
    assert db.session.scalars(select(ApiToken)).all() == []


def test_revoked_or_expired_token_is_401_at_once(client, db):
    user = make_user("rev@example.com")
    live, live_secret = services.create_api_token(user, "live")
    expired, expired_secret = services.create_api_token(user, "old", ttl=timedelta(days=1))
    expired.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/auth/me", headers=_bearer(live_secret)).status_code == 200
    gone = client.get("/api/v1/auth/me", headers=_bearer(expired_secret))
    assert gone.status_code == 401 and gone.get_json()["detail"] == "Token expired."

    resp = client.delete(f"/api/v1/auth/tokens/{live.id}", headers=_bearer(live_secret))
    assert resp.status_code == 204
    after = client.get("/api/v1/auth/me", headers=_bearer(live_secret))
    assert after.status_code == 401 and after.headers["Content-Type"] == PROBLEM
    db.session.expire_all()
    assert db.session.get(ApiToken, live.id).revoked_at is not None


def test_delete_another_users_token_is_404(client, db):
    alice = make_user("alice@example.com")
    bob = make_user("bob@example.com")
    alice_token, _ = services.create_api_token(alice, "a")
    _, bob_secret = services.create_api_token(bob, "b")
    db.session.commit()
    resp = client.delete(f"/api/v1/auth/tokens/{alice_token.id}", headers=_bearer(bob_secret))
    assert resp.status_code == 404 and resp.headers["Content-Type"] == PROBLEM
    listing = client.get("/api/v1/auth/tokens", headers=_bearer(bob_secret)).get_json()
    assert [t["name"] for t in listing["data"]] == ["b"]
    db.session.expire_all()
    assert db.session.get(ApiToken, alice_token.id).revoked_at is None


def test_anonymous_and_bad_bearer_are_401(client):
    for headers in ({}, _bearer("shop_not-a-token"), {"Authorization": "Bearer "}):
        resp = client.get("/api/v1/auth/me", headers=headers)
        assert resp.status_code == 401 and resp.headers["Content-Type"] == PROBLEM
        assert resp.get_json()["title"] == "Unauthorized"


def test_token_scope_is_enforced(client, db):
    user = make_user("scoped@example.com")
    _, secret = services.create_api_token(user, "orders only", scopes=["orders"])
    db.session.commit()
    resp = client.get("/api/v1/auth/me", headers=_bearer(secret))
    assert resp.status_code == 403 and "read" in resp.get_json()["detail"]


def test_malformed_json_is_400_problem(client):
    resp = client.post(
        "/api/v1/auth/register", data='{"email": "x@example.com",', content_type="application/json"
    )
    assert resp.status_code == 400 and resp.headers["Content-Type"] == PROBLEM
    assert resp.get_json()["detail"] == "The request body is not valid JSON."


def test_non_json_body_is_400_problem(client, db):
    resp = client.post("/api/v1/auth/register", data={"email": "f@example.com", "password": PASSWORD})
    assert resp.status_code == 400 and resp.headers["Content-Type"] == PROBLEM
    assert "application/json" in resp.get_json()["detail"]
    assert db.session.scalar(select(User).where(User.email == "f@example.com")) is None


def test_oversized_body_is_413_problem(client, app):
    big = {
        "email": "big@example.com",
        "password": PASSWORD,
        "name": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10),
    }
    resp = client.post("/api/v1/auth/register", json=big)
    assert resp.status_code == 413 and resp.headers["Content-Type"] == PROBLEM
    assert resp.get_json()["status"] == 413


def test_wrong_field_types_are_422_with_field_errors(client):
    resp = client.post("/api/v1/auth/tokens", json={"email": 5, "password": ["x"], "expires_in_days": "soon"})
    body = resp.get_json()
    assert resp.status_code == 422 and resp.headers["Content-Type"] == PROBLEM
    assert set(body["errors"]) >= {"email", "password", "expires_in_days"}
    not_object = client.post("/api/v1/auth/tokens", json=[1, 2])
    assert not_object.status_code == 422 and not_object.headers["Content-Type"] == PROBLEM


def test_openapi_documents_bearer_and_problem_errors(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from POST /api/v1/auth/tokens.",
    }
    assert doc["paths"]["/api/v1/auth/me"]["get"]["security"] == [{"bearerAuth": []}]
    default = doc["components"]["responses"]["DEFAULT_ERROR"]
    assert list(default["content"]) == [PROBLEM]
    assert "201" in doc["paths"]["/api/v1/auth/tokens"]["post"]["responses"]


def test_huge_ids_in_urls_are_404_not_database_errors(client, db):
    user = make_user("big@example.com")
    _, secret = services.create_api_token(user, "t")
    db.session.commit()
    for token_id in (2**31, 2**63, 10**30):
        resp = client.delete(f"/api/v1/auth/tokens/{token_id}", headers=_bearer(secret))
        assert resp.status_code == 404 and resp.headers["Content-Type"] == PROBLEM
    doc = client.get("/api/v1/openapi.json").get_json()
    param = doc["paths"]["/api/v1/auth/tokens/{token_id}"]["parameters"][0]
    assert param["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
