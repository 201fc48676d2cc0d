"""Roles: admins manage them on /admin/users; the last admin stays; create-admin command."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shop.auth import services
from shop.auth.models import ApiToken, User
from shop.auth.passwords import common_passwords, password_problems
from shop.exceptions import Conflict, Forbidden
from tests.factories import PASSWORD, make_user


def test_user_list_search_filter_and_pagination(client, db, auth):
    make_user("boss@example.com", role="admin")
    for n in range(30):
        make_user(f"cust{n:02d}@example.com", name=f"Customer {n}")
    make_user("helper@example.com", role="staff", name="Helper Person")
    db.session.commit()
    auth.login("boss@example.com")
    first = client.get("/admin/users")
    assert first.status_code == 200 and b"32 users" in first.data and b"Next" in first.data
    assert first.data.count(b"Change role") == 25
    second = client.get("/admin/users?page=2")
    assert second.data.count(b"Change role") == 7
    found = client.get("/admin/users?q=HELPER")
    assert b"helper@example.com" in found.data and b"cust01@example.com" not in found.data
    staff = client.get("/admin/users?role=staff")
    assert b"1 user" in staff.data and b"helper@example.com" in staff.data


def test_user_list_is_admin_only(client, db, auth):
    make_user("staffer@example.com", role="staff")
    db.session.commit()
    assert client.get("/admin/users").status_code == 302  # anonymous: to the login page
    auth.login("staffer@example.com")
    assert client.get("/admin/users").status_code == 403


def test_admin_changes_roles_and_token_scopes_follow(client, db, auth):
    make_user("boss@example.com", role="admin")
    staffer = make_user("s@example.com", role="staff")
    token, _ = services.create_api_token(staffer, "t")
    db.session.commit()
    auth.login("boss@example.com")
    assert client.get(f"/admin/users/{staffer.id}/role").status_code == 200
    resp = client.post(f"/admin/users/{staffer.id}/role", data={"role": "customer"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, staffer.id).role == "customer"
    assert db.session.get(ApiToken, token.id).scope_list == ["read", "orders"]
    assert client.get("/admin/users/999999/role").status_code == 404


def test_last_admin_cannot_demote_themselves(client, db, auth):
    boss = make_user("only@example.com", role="admin")
    db.session.commit()
    auth.login("only@example.com")
    resp = client.post(f"/admin/users/{boss.id}/role", data={"role": "customer"})
    assert resp.status_code == 422 and b"at least one admin" in resp.data
    db.session.expire_all()
    assert db.session.get(User, boss.id).role == "admin"
    # With a second admin it is allowed.
    make_user("second@example.com", role="admin")
    db.session.commit()
    assert client.post(f"/admin/users/{boss.id}/role", data={"role": "staff"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, boss.id).role == "staff"


def test_set_role_service_rules(db):
    admin = make_user(role="admin")
    customer = make_user()
    with pytest.raises(Forbidden):
        services.set_role(customer, admin.id, "customer")
    with pytest.raises(Conflict):
        services.set_role(admin, admin.id, "customer")
    assert services.set_role(admin, customer.id, "staff").role == "staff"


def test_create_admin_command_creates_then_promotes(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["shop", "create-admin", "--email", "Root@Example.com", "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    assert "Created admin root@example.com" in result.output
    user = db.session.scalar(select(User).where(User.email == "root@example.com"))
    assert user.role == "admin"

    make_user("promote@example.com")
    db.session.commit()
    result = runner.invoke(
        args=["shop", "create-admin", "--email", "promote@example.com"],
        input="another good passphrase\nanother good passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "Promoted admin promote@example.com" in result.output
    db.session.expire_all()
    promoted = db.session.scalar(select(User).where(User.email == "promote@example.com"))
    assert promoted.role == "admin"
    assert services.authenticate("promote@example.com", "another good passphrase").id == promoted.id

    weak = runner.invoke(args=["shop", "create-admin", "--email", "w@example.com", "--password", "password"])
    assert weak.exit_code != 0 and "too common" in weak.output


def test_password_policy_uses_the_shipped_common_list():
    assert len(common_passwords()) >= 9_900
    assert "123456" in common_passwords() and "iloveyou" in common_passwords()
    assert password_problems("Password1") == ["This password is too common; choose another."]
    assert password_problems("short") == ["Use at least 8 characters."]
    assert password_problems("jane.doe", email="Jane.Doe@example.com")
    assert password_problems(PASSWORD) == []
