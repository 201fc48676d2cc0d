"""The address book over pages (/account/addresses) and the API (/api/v1/addresses): the
same rules and errors, ownership (another user's address is 404), guests sent to log in."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from shop.addresses.models import Address
from tests.factories import ADDRESS, bearer_headers, make_address, make_user, page_text, sign_in

BERLIN = {**ADDRESS, "city": "Berlin", "region": "", "postal_code": "10115", "country": "DE"}


def _rows(db, user_id: int) -> list[tuple]:
    """``(name, city, region, postal_code, country, is_default)`` of the user's addresses, by id."""
    db.session.expire_all()
    return [
        (a.name, a.city, a.region, a.postal_code, a.country, a.is_default)
        for a in db.session.scalars(select(Address).where(Address.user_id == user_id).order_by(Address.id))
    ]


def _signed_in(client, db):
    user = make_user()
    db.session.commit()
    sign_in(client, user)
    return user


def test_guests_are_sent_to_log_in(client, db):
    user = make_user()
    address = make_address(user)
    db.session.commit()
    for url in (
        "/account/addresses",
        "/account/addresses/new",
        f"/account/addresses/{address.id}/edit",
        f"/account/addresses/{address.id}/delete",
    ):
        resp = client.get(url)
        assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"], url
    resp = client.post(f"/account/addresses/{address.id}/delete")
    assert resp.status_code == 302 and "/auth/login" in resp.headers["Location"]
    assert client.get("/api/v1/addresses").status_code == 401
    assert len(_rows(db, user.id)) == 1


def test_account_page_links_to_the_address_book(client, db):
    _signed_in(client, db)
    assert 'href="/account/addresses"' in page_text(client.get("/account"))


def test_add_edit_and_list_addresses_on_pages(client, db):
    user = _signed_in(client, db)
    assert "You have no saved addresses yet." in page_text(client.get("/account/addresses"))

    resp = client.post("/account/addresses/new", data={**ADDRESS, "region": "virginia"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/account/addresses")
    resp = client.post("/account/addresses/new", data=BERLIN)
    assert resp.status_code == 303
    assert _rows(db, user.id) == [
        ("Grace Hopper", "Arlington", "VA", "22202", "US", True),
        ("Grace Hopper", "Berlin", "", "10115", "DE", False),
    ]
    listing = page_text(client.get("/account/addresses"))
    assert listing.index("Arlington") < listing.index("Berlin")  # the default first
    assert listing.count("Default</span>") == 1 and "Germany" in listing

    berlin_id = db.session.scalar(select(Address.id).where(Address.city == "Berlin"))
    form = page_text(client.get(f"/account/addresses/{berlin_id}/edit"))
    assert 'value="Berlin"' in form and 'value="10115"' in form
    resp = client.post(f"/account/addresses/{berlin_id}/edit", data={**BERLIN, "line2": "Hinterhaus"})
    assert resp.status_code == 303
    assert db.session.get(Address, berlin_id).line2 == "Hinterhaus"


def test_page_errors_land_on_the_fields_and_nothing_is_saved(client, db):
    user = _signed_in(client, db)
    resp = client.post("/account/addresses/new", data={**ADDRESS, "region": "", "postal_code": "2220"})
    text = page_text(resp)
    assert resp.status_code == 422
    assert re.search(
        r'id="region"[^>]*>\s*<div[^>]*form-text[^>]*>[^<]*</div>\s*<div class="invalid-feedback">Choose a state.',
        text,
    )
    assert '<div class="invalid-feedback">Enter a ZIP code like 95014.</div>' in text
    resp = client.post("/account/addresses/new", data={**ADDRESS, "name": ""})
    assert resp.status_code == 422 and "This field is required." in page_text(resp)
    address = make_address(user)
    db.session.commit()
    resp = client.post(f"/account/addresses/{address.id}/edit", data={**ADDRESS, "region": "CA"})
    assert resp.status_code == 422 and "This ZIP code is not in California" in page_text(resp)
    assert _rows(db, user.id) == [("Grace Hopper", "Arlington", "VA", "22202", "US", True)]


def test_make_default_and_delete_with_confirmation_on_pages(client, db):
    user = _signed_in(client, db)
    first = make_address(user, name="First")
    second = make_address(
        user, name="Second", **{k: BERLIN[k] for k in ("city", "region", "postal_code", "country")}
    )
    db.session.commit()
    first_id, second_id = first.id, second.id

    resp = client.post(f"/account/addresses/{second_id}/default")
    assert resp.status_code == 303
    assert [row[-1] for row in _rows(db, user.id)] == [False, True]

    confirm = client.get(f"/account/addresses/{second_id}/delete")
    text = page_text(confirm)
    assert confirm.status_code == 200 and "Delete this address?" in text and "Berlin" in text
    assert "becomes the default" in text  # it is the default
    assert len(_rows(db, user.id)) == 2  # the confirmation page deletes nothing
    resp = client.post(f"/account/addresses/{second_id}/delete")
    assert resp.status_code == 303
    assert _rows(db, user.id) == [("First", "Arlington", "VA", "22202", "US", True)]
    assert client.get(f"/account/addresses/{second_id}/edit").status_code == 404
    assert first_id


def test_deleting_needs_the_csrf_token(app, client, db):
    user = _signed_in(client, db)
    address = make_address(user)
    db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    resp = client.post(f"/account/addresses/{address.id}/delete")
    assert resp.status_code == 400 and len(_rows(db, user.id)) == 1
    page = client.get(f"/account/addresses/{address.id}/delete").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = client.post(f"/account/addresses/{address.id}/delete", data={"csrf_token": token})
    assert resp.status_code == 303 and _rows(db, user.id) == []


def test_another_users_address_is_404_on_pages_and_api(client, db):
    owner = make_user()
    address = make_address(owner)
    db.session.commit()
    intruder = _signed_in(client, db)
    for method, url, data in (
        ("get", f"/account/addresses/{address.id}/edit", None),
        ("post", f"/account/addresses/{address.id}/edit", BERLIN),
        ("post", f"/account/addresses/{address.id}/default", None),
        ("get", f"/account/addresses/{address.id}/delete", None),
        ("post", f"/account/addresses/{address.id}/delete", None),
    ):
        assert getattr(client, method)(url, data=data).status_code == 404, (method, url)
    h = bearer_headers(intruder)
    url = f"/api/v1/addresses/{address.id}"
    for resp in (
        client.get(url, headers=h),
        client.patch(url, json={"city": "Elsewhere"}, headers=h),
        client.delete(url, headers=h),
    ):
        assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    assert client.get("/api/v1/addresses", headers=h).get_json()["data"] == []
    assert _rows(db, owner.id) == [("Grace Hopper", "Arlington", "VA", "22202", "US", True)]


def test_api_create_read_update_delete(client, db):
    user = make_user()
    db.session.commit()
    h = bearer_headers(user)
    resp = client.post("/api/v1/addresses", json={**ADDRESS, "region": "Virginia"}, headers=h)
    assert resp.status_code == 201
    first = resp.get_json()["data"]
    assert resp.headers["Location"].endswith(f"/api/v1/addresses/{first['id']}")
    assert {k: first[k] for k in (*ADDRESS, "line2", "is_default")} == {
        **ADDRESS,
        "line2": "",
        "is_default": True,
    }
    resp = client.post("/api/v1/addresses", json={**BERLIN, "country": "de", "is_default": True}, headers=h)
    second = resp.get_json()["data"]
    assert resp.status_code == 201 and second["is_default"] and second["country"] == "DE"

    listing = client.get("/api/v1/addresses", headers=h).get_json()
    assert [a["id"] for a in listing["data"]] == [second["id"], first["id"]]
    assert [a["is_default"] for a in listing["data"]] == [True, False] and listing["meta"]["total"] == 2

    resp = client.patch(
        f"/api/v1/addresses/{first['id']}", json={"is_default": True, "line2": "Suite 5"}, headers=h
    )
    assert resp.status_code == 200 and resp.get_json()["data"]["line2"] == "Suite 5"
    assert (
        client.get(f"/api/v1/addresses/{second['id']}", headers=h).get_json()["data"]["is_default"] is False
    )

    resp = client.delete(f"/api/v1/addresses/{first['id']}", headers=h)
    assert resp.status_code == 204
    assert client.get(f"/api/v1/addresses/{first['id']}", headers=h).status_code == 404
    assert client.get(f"/api/v1/addresses/{second['id']}", headers=h).get_json()["data"]["is_default"] is True


def test_api_gives_the_page_errors_as_problem_json(client, db):
    user = make_user()
    saved = make_address(user)
    db.session.commit()
    h = bearer_headers(user)
    resp = client.post("/api/v1/addresses", json={**ADDRESS, "region": "", "postal_code": "2220"}, headers=h)
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["errors"] == {
        "region": ["Choose a state."],
        "postal_code": ["Enter a ZIP code like 95014."],
    }
    resp = client.patch(f"/api/v1/addresses/{saved.id}", json={"region": "CA"}, headers=h)
    assert resp.status_code == 422
    assert resp.get_json()["errors"] == {
        "postal_code": ["This ZIP code is not in California; enter one like 90000."]
    }
    for body in ({}, {"is_default": "yes"}, {"is_default": 1}, {"country": "XX"}, {"colour": "red"}):
        assert client.patch(f"/api/v1/addresses/{saved.id}", json=body, headers=h).status_code == 422, body
    assert (
        client.post("/api/v1/addresses", json={**ADDRESS, "is_default": "true"}, headers=h).status_code == 422
    )
    assert _rows(db, user.id) == [("Grace Hopper", "Arlington", "VA", "22202", "US", True)]


def test_the_cap_is_409_on_the_api_and_an_error_on_the_page(app, client, db):
    app.config["ADDRESS_BOOK_LIMIT"] = 2
    user = _signed_in(client, db)
    make_address(user)
    make_address(user, name="Two")
    db.session.commit()
    resp = client.post("/api/v1/addresses", json=BERLIN, headers=bearer_headers(user))
    assert resp.status_code == 409 and "at most 2 addresses" in resp.get_json()["detail"]
    resp = client.post("/account/addresses/new", data=BERLIN)
    assert resp.status_code == 409 and "at most 2 addresses" in page_text(resp)
    assert db.session.scalar(select(func.count(Address.id))) == 2


def test_session_writes_to_the_api_need_the_csrf_header(app, client, db):
    user = _signed_in(client, db)
    app.config["WTF_CSRF_ENABLED"] = True
    resp = client.post("/api/v1/addresses", json=ADDRESS)
    assert resp.status_code == 400 and _rows(db, user.id) == []
    assert client.get("/api/v1/addresses").status_code == 200


def test_the_picker_offers_saved_addresses_with_their_data(app, db):
    user = make_user()
    home = make_address(user)
    office = make_address(
        user,
        name="Office",
        line2="Floor 3",
        **{k: BERLIN[k] for k in ("city", "postal_code", "country")},
        region="",
    )
    db.session.commit()
    template = app.jinja_env.from_string(
        '{% from "addresses/_picker.html" import address_picker %}{{ address_picker(addresses) }}'
    )
    with app.test_request_context():
        html = template.render(addresses=[office, home])
    radios = re.findall(r"<input[^>]*>", html)
    assert len(radios) == 3  # two addresses and "Enter a new address"
    office_radio = next(r for r in radios if f'value="{office.id}"' in r)
    assert 'data-line2="Floor 3"' in office_radio and 'data-postal-code="10115"' in office_radio
    assert 'data-country="DE"' in office_radio and "checked" not in office_radio
    home_radio = next(r for r in radios if f'value="{home.id}"' in r)
    assert "checked" in home_radio and 'data-region="VA"' in home_radio  # the default is chosen
    assert "Germany" in html and html.count(">Default</span>") == 1
    with app.test_request_context():
        html = template.render(addresses=[])
    assert re.findall(r'<input[^>]*value=""[^>]*checked', html)  # nothing saved: a new address
