"""Accounts JSON API: register, API tokens, the caller."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g
from sqlalchemy import select

from shop.apidoc import RETRY_AFTER
from shop.apiutils import collection, paginate_select
from shop.auth import api_bp, services
from shop.auth.guards import api_auth
from shop.auth.models import ApiToken
from shop.auth.schemas import (
    PageQuerySchema,
    RegisterSchema,
    TokenCreatedEnvelope,
    TokenCreateSchema,
    TokenListEnvelope,
    UserEnvelope,
)
from shop.auth.throttle import login_throttle, mark_auth_failure
from shop.exceptions import Unauthorized
from shop.extensions import db


@api_bp.route("/auth/register", methods=["POST"])
@api_bp.arguments(RegisterSchema)
@api_bp.response(201, UserEnvelope)
@api_bp.alt_response(409, response="CONFLICT")
def register(body):
    """Create a customer account (409 if the e-mail is taken, 422 if invalid)."""
    user = services.register_user(body["email"], body["password"], name=body.get("name", ""))
    db.session.commit()
    return {"data": user}


@api_bp.route("/auth/tokens", methods=["POST"])
@login_throttle
@api_bp.arguments(TokenCreateSchema)
@api_bp.response(201, TokenCreatedEnvelope)
@api_bp.alt_response(401, response="UNAUTHORIZED")
@api_bp.doc(
    responses={
        201: {
            "links": {
                "RevokeToken": {
                    "operationId": "auth_api.token_revoke",
                    "parameters": {"token_id": "$response.body#/data/id"},
                }
            }
        },
        429: {
            "description": "Too many failed attempts for this account or from this client "
            "(LOGIN_RATE_LIMIT, LOGIN_IP_RATE_LIMIT), or too many requests (API_RATE_LIMIT).",
            "headers": RETRY_AFTER,
        },
    }
)
def token_create(body):
    """Create an API token from e-mail and password; the secret appears only in this answer.

    Without ``scopes`` the token gets every scope the account's role allows; without
    ``expires_in_days`` it expires after ``API_TOKEN_DEFAULT_TTL``.
    """
    try:
        user = services.authenticate(body["email"], body["password"])
    except Unauthorized:
        mark_auth_failure()
        raise
    days = body.get("expires_in_days")
    ttl = timedelta(days=days) if days else current_app.config["API_TOKEN_DEFAULT_TTL"]
    token, secret = services.create_api_token(
        user, name=body.get("name", ""), scopes=body.get("scopes"), ttl=ttl
    )
    db.session.commit()
    token.token = secret  # carried to the serializer only; never stored
    return {"data": token}


@api_bp.route("/auth/tokens", methods=["GET"])
@api_bp.arguments(PageQuerySchema, location="query")
@api_bp.response(200, TokenListEnvelope)
@api_auth(scope="read")
def token_list(query):
    """The caller's live tokens, newest first (never their secrets)."""
    stmt = (
        select(ApiToken)
        .where(ApiToken.user_id == g.api_user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    page, per_page = query["page"], query["per_page"]
    items, total = paginate_select(stmt, page, per_page, lambda token: token)
    return collection(items, page, per_page, total)


@api_bp.route("/auth/tokens/<int:token_id>", methods=["DELETE"])
@api_bp.response(204)
@api_bp.alt_response(404, response="NOT_FOUND")
@api_auth()
def token_revoke(token_id: int):
    """Revoke one of the caller's tokens; it answers 401 at once. Another's token is a 404."""
    services.revoke_api_token(g.api_user, token_id)
    db.session.commit()
    return None


@api_bp.route("/auth/me", methods=["GET"])
@api_bp.response(200, UserEnvelope)
@api_auth(scope="read")
def me():
    """The caller's account."""
    return {"data": g.api_user}
