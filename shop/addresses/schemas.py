"""Address book JSON: request schemas (validated by ``@api_bp.arguments``, so the OpenAPI
document describes them), response shapes and the serializer."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from shop.addresses.validation import (
    ADDRESS_FIELDS,
    COUNTRY_RULES_DOC,
    AddressSchema,
    address_field,
    upper_country,
)
from shop.apidoc import QuerySchema, SettingRange
from shop.apiutils import PageLinksSchema, PageMetaSchema


class StrictBoolean(fields.Boolean):
    """A JSON ``true`` or ``false``, nothing else (marshmallow's Boolean also takes ``"yes"``
    or ``1``, which the document's ``type: boolean`` does not allow)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Must be true or false.")
        return value


_DEFAULT_DOC = "Make it the default address (the former default no longer is)."


class AddressCreateSchema(AddressSchema):
    """``POST /addresses``: an address to save; the caller's first address is the default."""

    is_default = StrictBoolean(load_default=False, metadata={"description": _DEFAULT_DOC})


class AddressUpdateSchema(Schema):
    """``PATCH /addresses/<id>``: the fields to change; the others keep their values."""

    #: An empty body changes nothing and is refused (422).
    OPENAPI_KEYWORDS = {
        "minProperties": 1,
        "description": "At least one field. The changed address as a whole must still be valid. "
        + COUNTRY_RULES_DOC,
    }

    name = address_field("name", partial=True)
    line1 = address_field("line1", partial=True)
    line2 = address_field("line2", partial=True)
    city = address_field("city", partial=True)
    region = address_field("region", partial=True)
    postal_code = address_field("postal_code", partial=True)
    country = address_field("country", partial=True)
    is_default = StrictBoolean(
        metadata={"description": "`true` makes it the default; `false` on the default leaves none."}
    )

    @pre_load
    def _upper_country(self, data, **kwargs):
        """Upper-case the country code."""
        return upper_country(data)

    @validates_schema
    def _not_empty(self, data, **kwargs):
        """An empty body changes nothing."""
        if not data:
            raise ValidationError("Give at least one field to change.", "_schema")


class AddressPageQuerySchema(QuerySchema):
    """``page`` and ``per_page`` of the address list."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=20, validate=SettingRange(1, "API_MAX_PER_PAGE"))


def _iso(value) -> str | None:
    """ISO 8601 text of a datetime, or None."""
    return value.isoformat() if value is not None else None


def address_json(address) -> dict:
    """Plain data of a saved :class:`~shop.addresses.models.Address`."""
    data = {"id": address.id}
    data.update({name: getattr(address, name) or "" for name in ADDRESS_FIELDS})
    data.update(
        {
            "is_default": bool(address.is_default),
            "created_at": _iso(address.created_at),
            "updated_at": _iso(address.updated_at),
        }
    )
    return data


class SavedAddressSchema(Schema):
    """A saved address."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    line1 = fields.String(required=True)
    line2 = fields.String(required=True)
    city = fields.String(required=True)
    region = fields.String(required=True)
    postal_code = fields.String(required=True)
    country = fields.String(required=True, metadata={"description": "ISO 3166-1 alpha-2, upper case."})
    is_default = fields.Boolean(required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(required=True)


class AddressEnvelopeSchema(Schema):
    """``{"data": address}``."""

    data = fields.Nested(SavedAddressSchema, required=True)


class AddressCollectionSchema(Schema):
    """``{"data": [address], "meta": {...}, "links": {...}}``, the default first."""

    data = fields.List(fields.Nested(SavedAddressSchema), required=True)
    meta = fields.Nested(PageMetaSchema, required=True)
    links = fields.Nested(PageLinksSchema, required=True)
