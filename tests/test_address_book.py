"""Address book services: the cap, one default, deleting the default, remembering checkout
addresses without duplicates, ownership, and the database's own guard on defaults."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from shop.addresses import services
from shop.addresses.models import Address
from shop.auth.models import User
from shop.exceptions import NotFound, ValidationFailed
from tests.factories import ADDRESS, make_address, make_user

BERLIN = {**ADDRESS, "city": "Berlin", "region": "", "postal_code": "10115", "country": "DE"}


def _defaults(db, user_id: int) -> list[int]:
    db.session.expire_all()
    return list(db.session.scalars(select(Address.id).where(Address.user_id == user_id, Address.is_default)))


def test_first_address_is_the_default_and_later_ones_are_not(db):
    user = make_user()
    first = make_address(user)
    second = make_address(user, name="Second")
    db.session.commit()
    assert _defaults(db, user.id) == [first.id]
    assert services.default_address(user.id).id == first.id
    assert [a.id for a in services.list_addresses(user.id)] == [first.id, second.id]


def test_at_most_one_default_whichever_way_it_is_set(db):
    user = make_user()
    a, b, c = (make_address(user, name=n) for n in ("A", "B", "C"))
    db.session.commit()
    services.set_default(user.id, c.id)
    db.session.commit()
    assert _defaults(db, user.id) == [c.id]
    d = services.add_address(user.id, BERLIN, make_default=True)
    db.session.commit()
    assert _defaults(db, user.id) == [d.id]
    services.update_address(user.id, a.id, {"is_default": True, "line2": "Apt 4"})
    db.session.commit()
    assert _defaults(db, user.id) == [a.id] and services.get_address(user.id, a.id).line2 == "Apt 4"
    services.update_address(user.id, a.id, {"is_default": False})
    db.session.commit()
    assert _defaults(db, user.id) == [] and services.default_address(user.id) is None
    assert b.id and c.id


def test_the_database_refuses_a_second_default(db):
    user = make_user()
    make_address(user)
    db.session.commit()
    db.session.add(Address(user_id=user.id, is_default=True, **{**ADDRESS, "line2": ""}))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    # Other users' defaults and non-default rows are not limited.
    other = make_user()
    make_address(other)
    db.session.add(Address(user_id=user.id, is_default=False, **{**ADDRESS, "line2": ""}))
    db.session.commit()
    assert len(_defaults(db, user.id)) == 1 and len(_defaults(db, other.id)) == 1


def test_deleting_the_default_makes_the_newest_other_one_default(db):
    user = make_user()
    first, second, third = (make_address(user, name=n) for n in ("First", "Second", "Third"))
    db.session.commit()
    services.delete_address(user.id, first.id)
    db.session.commit()
    assert _defaults(db, user.id) == [third.id]
    services.delete_address(user.id, second.id)  # not the default: the default stays
    db.session.commit()
    assert _defaults(db, user.id) == [third.id]
    services.delete_address(user.id, third.id)
    db.session.commit()
    assert services.list_addresses(user.id) == [] and services.default_address(user.id) is None


def test_the_book_is_capped(app, db):
    app.config["ADDRESS_BOOK_LIMIT"] = 3
    user = make_user()
    for n in range(3):
        make_address(user, name=f"Person {n}")
    db.session.commit()
    with pytest.raises(services.AddressBookFull) as caught:
        services.add_address(user.id, BERLIN)
    assert caught.value.status == 409 and "at most 3 addresses" in caught.value.detail
    db.session.rollback()
    assert len(services.list_addresses(user.id)) == 3
    services.delete_address(user.id, services.list_addresses(user.id)[-1].id)
    assert services.add_address(user.id, BERLIN).country == "DE"


def test_other_users_addresses_are_not_found(db):
    owner, other = make_user(), make_user()
    address = make_address(owner)
    db.session.commit()
    for call in (
        lambda: services.get_address(other.id, address.id),
        lambda: services.update_address(other.id, address.id, {"city": "Elsewhere"}),
        lambda: services.set_default(other.id, address.id),
        lambda: services.delete_address(other.id, address.id),
    ):
        with pytest.raises(NotFound):
            call()
    db.session.rollback()
    assert services.get_address(owner.id, address.id).city == "Arlington"


def test_updates_are_validated_as_a_whole_address(db):
    user = make_user()
    address = make_address(user)
    db.session.commit()
    with pytest.raises(ValidationFailed) as caught:
        services.update_address(user.id, address.id, {"country": "GB"})  # 22202 in Britain?
    assert caught.value.errors == {"postal_code": ["Enter a postal code like EC1Y 8SY."]}
    db.session.rollback()
    with pytest.raises(ValidationFailed) as caught:
        services.update_address(user.id, address.id, {"region": "CA"})
    assert caught.value.errors == {
        "postal_code": ["This ZIP code is not in California; enter one like 90000."]
    }
    db.session.rollback()
    changed = services.update_address(user.id, address.id, {**BERLIN, "region": ""})
    assert (changed.country, changed.postal_code, changed.region) == ("DE", "10115", "")
    with pytest.raises(ValidationFailed):
        services.add_address(user.id, {**ADDRESS, "postal_code": "2220"})


def test_remember_address_does_not_duplicate(db):
    user = make_user()
    first = services.remember_address(user.id, ADDRESS)
    db.session.commit()
    assert first.is_default
    again = services.remember_address(
        user.id, {**ADDRESS, "name": " grace  HOPPER", "region": "Virginia", "country": "us"}
    )
    assert again.id == first.id
    other = services.remember_address(user.id, BERLIN)
    db.session.commit()
    assert other.id != first.id and not other.is_default
    assert len(services.list_addresses(user.id)) == 2
    assert services.address_dict(other) == {**BERLIN, "line2": ""}


def test_remember_address_when_full_writes_nothing_but_finds_a_saved_one(app, db):
    app.config["ADDRESS_BOOK_LIMIT"] = 1
    user = make_user()
    saved = make_address(user)
    db.session.commit()
    assert services.remember_address(user.id, ADDRESS).id == saved.id
    with pytest.raises(services.AddressBookFull):
        services.remember_address(user.id, BERLIN)
    assert not db.session.new and len(services.list_addresses(user.id)) == 1


def test_addresses_go_with_their_account(db):
    user = make_user()
    make_address(user)
    db.session.commit()
    db.session.execute(delete(User).where(User.id == user.id))
    db.session.commit()
    assert db.session.scalar(select(func.count(Address.id))) == 0
