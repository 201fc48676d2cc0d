"""Address book services: a customer's saved addresses, one of them the default.

Services take plain arguments (a user id, an address id, an address dict), flush but never
commit (the caller owns the transaction: ``shop.transaction.unit_of_work``), and raise
``shop.exceptions``. An address dict is ``{name, line1, line2, city, region, postal_code,
country}`` (see ``shop.addresses.validation``); every address saved here passed
:func:`~shop.addresses.validation.validate_address`.

Rules: a user has at most ``ADDRESS_BOOK_LIMIT`` addresses; at most one is the default, and
the first one saved becomes it; deleting the default makes the most recently added other
address the default. Changes to one user's book are serialised by locking the user's row,
so two requests racing cannot pass the limit or make two defaults.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select

from shop.addresses.models import Address
from shop.addresses.validation import ADDRESS_FIELDS, validate_address
from shop.auth.models import User
from shop.exceptions import Conflict, NotFound, ValidationFailed
from shop.extensions import db


class AddressBookFull(Conflict):
    """The user already has ``ADDRESS_BOOK_LIMIT`` saved addresses (409)."""

    title = "Address book full"
    type_slug = "address-book-full"


def _newest_first():
    """Order of a book: the default first, then the most recently added."""
    return (Address.is_default.desc(), Address.created_at.desc(), Address.id.desc())


def _lock_book(user_id: int) -> None:
    """Serialise changes to one user's book (a row lock on PostgreSQL; SQLite has one writer).

    Raises:
        NotFound: no such user.
    """
    if db.session.scalar(select(User.id).where(User.id == user_id).with_for_update()) is None:
        raise NotFound("No such account.")


def list_addresses(user_id: int) -> list[Address]:
    """The user's saved addresses: the default first, then the most recently added."""
    return list(
        db.session.scalars(select(Address).where(Address.user_id == user_id).order_by(*_newest_first()))
    )


def get_address(user_id: int, address_id: int) -> Address:
    """One of the user's saved addresses.

    Raises:
        NotFound: no such address, or another user's.
    """
    address = db.session.scalar(select(Address).where(Address.id == address_id, Address.user_id == user_id))
    if address is None:
        raise NotFound("No such address in your address book.")
    return address


def default_address(user_id: int) -> Address | None:
    """The user's default address, or None when they have none."""
    return db.session.scalar(select(Address).where(Address.user_id == user_id, Address.is_default.is_(True)))


def address_dict(address: Address) -> dict:
    """A saved address as the plain dict checkout takes:
    ``{name, line1, line2, city, region, postal_code, country}``."""
    return {name: getattr(address, name) or "" for name in ADDRESS_FIELDS}


def _clear_default(user_id: int) -> None:
    """Make none of the user's addresses the default (flushed before another becomes it,
    so the unique index never sees two)."""
    current = default_address(user_id)
    if current is not None:
        current.is_default = False
        db.session.flush()


def _check_room(user_id: int) -> int:
    """How many addresses the user's book holds.

    Raises:
        AddressBookFull: it holds ``ADDRESS_BOOK_LIMIT`` already.
    """
    limit = int(current_app.config["ADDRESS_BOOK_LIMIT"])
    count = db.session.scalar(select(func.count(Address.id)).where(Address.user_id == user_id))
    if count >= limit:
        raise AddressBookFull(
            f"Your address book is full: it holds at most {limit} addresses. Delete one to add another."
        )
    return count


def add_address(user_id: int, data: dict[str, Any], make_default: bool = False) -> Address:
    """Save a new address in the user's book (flushed).

    Args:
        user_id: the owner.
        data: an address dict (validated and normalised here).
        make_default: make it the default; the user's first address is the default anyway.
    Returns:
        The new :class:`Address`.
    Raises:
        ValidationFailed: the address is invalid, ``{field: [messages]}`` (422).
        AddressBookFull: the book already holds ``ADDRESS_BOOK_LIMIT`` addresses (409).
        NotFound: no such user.
    """
    clean = validate_address(data)
    _lock_book(user_id)
    first = _check_room(user_id) == 0
    if make_default and not first:
        _clear_default(user_id)
    address = Address(user_id=user_id, is_default=make_default or first, **clean)
    db.session.add(address)
    db.session.flush()
    return address


def update_address(user_id: int, address_id: int, data: dict[str, Any]) -> Address:
    """Change some fields of a saved address, and/or whether it is the default (flushed).

    Args:
        data: any of the address fields (the others keep their values; the whole address
            must then be valid) and ``is_default``: True makes it the default, False on the
            default leaves the user without one.
    Returns:
        The updated :class:`Address`.
    Raises:
        NotFound: no such address, or another user's (404).
        ValidationFailed: the changed address is invalid, or ``data`` has an unknown
            field, ``{field: [messages]}`` (422).
    """
    unknown = set(data) - set(ADDRESS_FIELDS) - {"is_default"}
    if unknown:
        raise ValidationFailed("Unknown fields.", {k: ["Unknown field."] for k in sorted(unknown)})
    _lock_book(user_id)
    address = get_address(user_id, address_id)
    changed = {k: v for k, v in data.items() if k in ADDRESS_FIELDS}
    if changed:
        clean = validate_address({**address_dict(address), **changed})
        for name, value in clean.items():
            setattr(address, name, value)
    if data.get("is_default") is True and not address.is_default:
        _clear_default(user_id)
        address.is_default = True
    elif data.get("is_default") is False:
        address.is_default = False
    db.session.flush()
    return address


def set_default(user_id: int, address_id: int) -> Address:
    """Make one of the user's addresses the default (the former default no longer is).

    Raises:
        NotFound: no such address, or another user's (404).
    """
    return update_address(user_id, address_id, {"is_default": True})


def delete_address(user_id: int, address_id: int) -> None:
    """Delete a saved address; if it was the default, the most recently added other
    address becomes the default (none if it was the last).

    Raises:
        NotFound: no such address, or another user's (404).
    """
    _lock_book(user_id)
    address = get_address(user_id, address_id)
    was_default = address.is_default
    db.session.delete(address)
    db.session.flush()
    if was_default:
        rest = list_addresses(user_id)
        if rest:
            rest[0].is_default = True
            db.session.flush()


def _same(a: dict, b: dict) -> bool:
    """Two address dicts say the same thing (case and spacing aside)."""

    def key(d: dict) -> tuple:
        return tuple(" ".join(str(d.get(name) or "").casefold().split()) for name in ADDRESS_FIELDS)

    return key(a) == key(b)


def remember_address(user_id: int, address: dict[str, Any]) -> Address:
    """Save an address used at checkout, unless the book already holds the same one.

    Args:
        address: an address dict, as the order got it.
    Returns:
        The saved :class:`Address` that says the same (case and spacing aside), or the new
        one; the user's first address becomes the default.
    Raises:
        ValidationFailed: the address is invalid (422).
        AddressBookFull: the book is full and holds no such address (409); nothing was
            written, so a caller may go on without saving it.
    """
    clean = validate_address(address)
    _lock_book(user_id)
    for saved in list_addresses(user_id):
        if _same(address_dict(saved), clean):
            return saved
    return add_address(user_id, clean)
