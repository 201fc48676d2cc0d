"""Marshmallow schemas for the accounts API (request validation and OpenAPI documentation)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from shop.apidoc import NO_NUL, QuerySchema, SettingRange
from shop.apiutils import PageLinksSchema, PageMetaSchema
from shop.auth.models import SCOPES
from shop.auth.passwords import MAX_LENGTH, MIN_LENGTH


class RegisterSchema(ma.Schema):
    """``POST /api/v1/auth/register`` body (the password policy is checked by the service)."""

    email = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=254), NO_NUL],
        metadata={"format": "email", "description": "Checked by email-validator (syntax, no DNS)."},
    )
    password = fields.String(
        required=True,
        validate=[validate.Length(min=MIN_LENGTH, max=MAX_LENGTH), NO_NUL],
        metadata={
            "description": "Not one of the 10,000 most common passwords, and not the e-mail "
            "address or its local part (422)."
        },
    )
    name = fields.String(load_default="", validate=[validate.Length(max=120), NO_NUL])


class TokenCreateSchema(ma.Schema):
    """``POST /api/v1/auth/tokens`` body: credentials plus the token's name, scopes, lifetime."""

    email = fields.String(required=True, validate=[validate.Length(min=1, max=254), NO_NUL])
    password = fields.String(required=True, validate=[validate.Length(min=1, max=MAX_LENGTH), NO_NUL])
    name = fields.String(load_default="", validate=[validate.Length(max=100), NO_NUL])
    scopes = fields.List(
        fields.String(validate=validate.OneOf(SCOPES)),
        validate=validate.Length(min=1, max=len(SCOPES)),
        metadata={"description": "Default: every scope the account's role allows."},
    )
    expires_in_days = fields.Integer(
        validate=validate.Range(min=1, max=3650),
        metadata={"description": "Default: API_TOKEN_DEFAULT_TTL (90 days)."},
    )


class UserSchema(ma.Schema):
    """An account as its owner sees it."""

    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(("customer", "staff", "admin")))
    created_at = fields.DateTime(required=True)


class TokenSchema(ma.Schema):
    """An API token without its secret."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "First characters, to recognise it"})
    scopes = fields.List(fields.String(), required=True, attribute="scope_list")
    created_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(required=True, allow_none=True)
    last_used_at = fields.DateTime(required=True, allow_none=True)
    revoked_at = fields.DateTime(required=True, allow_none=True)


class TokenCreatedSchema(TokenSchema):
    """A new token, with its secret (shown only in this answer)."""

    token = fields.String(required=True, metadata={"description": "Send as 'Authorization: Bearer <token>'"})


class UserEnvelope(ma.Schema):
    """``{"data": user}``"""

    data = fields.Nested(UserSchema, required=True)


class TokenCreatedEnvelope(ma.Schema):
    """``{"data": token with secret}``"""

    data = fields.Nested(TokenCreatedSchema, required=True)


class TokenListEnvelope(ma.Schema):
    """``{"data": [token], "meta": ..., "links": ...}``"""

    data = fields.List(fields.Nested(TokenSchema), required=True)
    meta = fields.Nested(PageMetaSchema, required=True)
    links = fields.Nested(PageLinksSchema, required=True)


class PageQuerySchema(QuerySchema):
    """``?page=&per_page=``"""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=SettingRange(1, "API_MAX_PER_PAGE"))
