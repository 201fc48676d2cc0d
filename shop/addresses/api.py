"""Address book JSON API (``/api/v1/addresses*``), on the account API blueprint.

Every endpoint needs a caller with the ``orders`` scope (addresses are where orders go),
by bearer token or browser session (writes then need ``X-CSRFToken``); a caller only ever
sees their own addresses (anyone else's are 404). Bodies are validated by the schemas in
``addresses/schemas.py`` and the services apply the same rules as the pages; domain errors
become problem+json via ``shop.errors``.
"""

from __future__ import annotations

from flask import g, url_for

from shop.addresses import services
from shop.addresses.models import Address
from shop.addresses.schemas import (
    AddressCollectionSchema,
    AddressCreateSchema,
    AddressEnvelopeSchema,
    AddressPageQuerySchema,
    AddressUpdateSchema,
    address_json,
)
from shop.apidoc import path_parameter
from shop.apiutils import collection, envelope, paginate_select
from shop.auth import api_bp
from shop.auth.guards import api_auth
from shop.transaction import unit_of_work

_ID = path_parameter(
    "address_id", "The saved address's id.", type="integer", minimum=0, maximum=2_147_483_647
)


@api_bp.get("/addresses")
@api_auth(scope="orders")
@api_bp.arguments(AddressPageQuerySchema, location="query")
@api_bp.response(200, AddressCollectionSchema)
def address_list(args):
    """The caller's saved addresses, the default first, then the most recently added."""
    items, total = paginate_select(
        Address.of_user(g.api_user.id), args["page"], args["per_page"], address_json
    )
    return collection(items, args["page"], args["per_page"], total)


@api_bp.post("/addresses")
@api_auth(scope="orders")
@api_bp.arguments(AddressCreateSchema)
@api_bp.response(
    201,
    AddressEnvelopeSchema,
    headers={
        "Location": {"description": "The address's URL.", "required": True, "schema": {"type": "string"}}
    },
)
@api_bp.doc(
    responses={
        409: {"description": "The address book is full (ADDRESS_BOOK_LIMIT addresses); nothing was saved."},
        422: {"description": "Invalid fields, or the address breaks its country's rules (see errors)."},
    },
)
def address_create(body):
    """Save an address; the caller's first address becomes the default."""
    make_default = body.pop("is_default")
    with unit_of_work():
        address = services.add_address(g.api_user.id, body, make_default=make_default)
        data = address_json(address)
    return envelope(data, 201, {"Location": url_for("auth_api.address_get", address_id=data["id"])})


@api_bp.get("/addresses/<int:address_id>")
@api_auth(scope="orders")
@api_bp.response(200, AddressEnvelopeSchema)
@api_bp.doc(parameters=[_ID])
def address_get(address_id: int):
    """One of the caller's saved addresses (another user's is 404)."""
    return envelope(address_json(services.get_address(g.api_user.id, address_id)))


@api_bp.patch("/addresses/<int:address_id>")
@api_auth(scope="orders")
@api_bp.arguments(AddressUpdateSchema)
@api_bp.response(200, AddressEnvelopeSchema)
@api_bp.doc(
    parameters=[_ID],
    responses={422: {"description": "Invalid fields, or the changed address breaks its country's rules."}},
)
def address_update(body, address_id: int):
    """Change some fields of a saved address and/or make it the default."""
    with unit_of_work():
        address = services.update_address(g.api_user.id, address_id, body)
        data = address_json(address)
    return envelope(data)


@api_bp.delete("/addresses/<int:address_id>")
@api_auth(scope="orders")
@api_bp.response(204)
@api_bp.doc(parameters=[_ID])
def address_delete(address_id: int):
    """Delete a saved address; if it was the default, the most recently added other one
    becomes the default."""
    with unit_of_work():
        services.delete_address(g.api_user.id, address_id)
    return None
