"""Account administration (routes/users.py, backend/users/admin.py): only administrators list, create,
invite, deactivate and reset; a deactivated account's tokens stop at once and its logins are refused;
the last active administrator stays; passwords never come back out nor land in logs; a reset token
sets a password once and authenticates nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.support.env import unique

PASSWORD = "a-new-password-42"


def _new_email() -> str:
    return unique("acct") + "@example.com"


def _login(client, email: str, password: str):
    return client.post("/api/auth/login", json={"email": email, "password": password})


@contextmanager
def only_admins(*user_ids: int) -> Iterator[None]:
    """Every other active administrator of the session's database deactivated for the block (tests
    of one process run one at a time), so `user_ids` are the last ones; restored afterwards."""
    from sqlalchemy import select, update

    from backend.core.db import session_scope
    from backend.users.models import User

    with session_scope() as s:
        others = s.scalars(
            select(User.id).where(User.is_admin, User.is_active, User.id.not_in(user_ids))
        ).all()
        if others:
            s.execute(update(User).where(User.id.in_(others)).values(is_active=False))
    try:
        yield
    finally:
        if others:
            with session_scope() as s:
                s.execute(update(User).where(User.id.in_(others)).values(is_active=True))


def test_every_route_is_for_administrators_only(client, accounts):
    plain, target = accounts.user(), accounts.user()
    h = plain["headers"]
    calls = [
        client.get("/api/users", headers=h),
        client.post("/api/users", headers=h, json={"email": _new_email()}),
        client.patch(f"/api/users/{target['id']}", headers=h, json={"is_active": False}),
        client.post(f"/api/users/{target['id']}/password", headers=h, json={}),
    ]
    assert [r.status_code for r in calls] == [403, 403, 403, 403]
    assert {r.json()["error"]["code"] for r in calls} == {"forbidden"}
    assert client.get("/api/users").status_code == 401
    assert client.get("/api/users/me", headers=target["headers"]).status_code == 200  # nothing changed


def test_admin_lists_users_without_secrets(client, accounts):
    admin, other = accounts.user(admin=True), accounts.user()
    r = client.get("/api/users", headers=admin["headers"])
    assert r.status_code == 200
    rows = {u["email"]: u for u in r.json()}
    assert rows[other["email"]]["is_active"] is True and rows[other["email"]]["is_admin"] is False
    assert rows[admin["email"]]["is_admin"] is True
    assert "password" not in r.text and "argon2" not in r.text and other["password"] not in r.text


def test_create_with_a_password_logs_in_at_once_and_says_no_token(client, accounts, caplog):
    admin = accounts.user(admin=True)
    email = _new_email()
    with caplog.at_level(logging.DEBUG):
        r = client.post(
            "/api/users", headers=admin["headers"], json={"email": email, "password": PASSWORD, "name": "N"}
        )
    assert r.status_code == 201, r.text
    assert r.json()["reset_token"] is None and r.json()["is_active"] is True
    assert PASSWORD not in r.text and PASSWORD not in caplog.text
    assert _login(client, email, PASSWORD).status_code == 200


def test_bad_input_names_its_field_and_creates_nothing(client, accounts):
    admin = accounts.user(admin=True)
    email = _new_email()
    short = client.post("/api/users", headers=admin["headers"], json={"email": email, "password": "Zq7!xw"})
    assert short.status_code == 422 and "Zq7!xw" not in short.text  # never echoed back
    assert [f["path"] for f in short.json()["error"]["fields"]] == ["body.password"]
    typo = client.post("/api/users", headers=admin["headers"], json={"email": email, "pasword": PASSWORD})
    assert typo.status_code == 422 and "body.pasword" in [f["path"] for f in typo.json()["error"]["fields"]]
    listed = client.get("/api/users", headers=admin["headers"]).json()
    assert email not in {u["email"] for u in listed}
    bad = client.patch(f"/api/users/{admin['id']}", headers=admin["headers"], json={"is_active": "maybe"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["path"] == "body.is_active"
    assert client.patch("/api/users/2147483000", headers=admin["headers"], json={}).status_code == 404


def test_invite_without_password_gives_a_one_time_token(client, accounts, caplog):
    admin = accounts.user(admin=True)
    email = _new_email()
    with caplog.at_level(logging.DEBUG):
        r = client.post("/api/users", headers=admin["headers"], json={"email": email, "name": "Invitee"})
        assert r.status_code == 201, r.text
        token = r.json()["reset_token"]
        assert token and r.json()["reset_expires_at"]
        # the reset token is no bearer token
        refused = client.get("/api/users/me", headers=accounts.bearer(token))
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_token"
        short = client.post("/api/auth/reset-password", json={"token": token, "password": "short"})
        assert short.status_code == 422  # nothing spent
        ok = client.post("/api/auth/reset-password", json={"token": token, "password": PASSWORD})
        assert ok.status_code == 204, ok.text
        again = client.post("/api/auth/reset-password", json={"token": token, "password": PASSWORD + "x"})
    assert again.status_code == 401 and again.json()["error"]["code"] == "invalid_reset_token"
    assert _login(client, email, PASSWORD).status_code == 200
    assert _login(client, email, PASSWORD + "x").status_code == 401
    assert PASSWORD not in caplog.text and token not in caplog.text


def test_unknown_reset_token_is_refused(client):
    r = client.post("/api/auth/reset-password", json={"token": "dst_nothing-like-it", "password": PASSWORD})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_reset_token"


def test_admin_sets_a_password_and_the_old_sessions_end(client, accounts):
    admin, user = accounts.user(admin=True), accounts.user()
    r = client.post(
        f"/api/users/{user['id']}/password", headers=admin["headers"], json={"password": PASSWORD}
    )
    assert r.status_code == 200 and r.json() == {"reset_token": None, "reset_expires_at": None}
    assert client.get("/api/users/me", headers=user["headers"]).status_code == 401
    assert _login(client, user["email"], user["password"]).status_code == 401
    assert _login(client, user["email"], PASSWORD).status_code == 200


def test_a_new_reset_token_replaces_the_last_one(client, accounts):
    admin, user = accounts.user(admin=True), accounts.user()
    url = f"/api/users/{user['id']}/password"
    first = client.post(url, headers=admin["headers"], json={}).json()["reset_token"]
    second = client.post(url, headers=admin["headers"], json={}).json()["reset_token"]
    assert first and second and first != second
    old = client.post("/api/auth/reset-password", json={"token": first, "password": PASSWORD})
    assert old.status_code == 401
    assert (
        client.post("/api/auth/reset-password", json={"token": second, "password": PASSWORD}).status_code
        == 204
    )
    # a reset ends the login sessions; the password is the new one
    assert client.get("/api/users/me", headers=user["headers"]).status_code == 401
    assert _login(client, user["email"], PASSWORD).status_code == 200


def test_deactivation_stops_every_token_at_once_and_refuses_login(client, accounts):
    admin, user = accounts.user(admin=True), accounts.user()
    personal = client.post("/api/tokens", headers=user["headers"], json={"name": "ci"}).json()["token"]
    reset = client.post(f"/api/users/{user['id']}/password", headers=admin["headers"], json={}).json()
    off = client.patch(f"/api/users/{user['id']}", headers=admin["headers"], json={"is_active": False})
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert client.get("/api/users/me", headers=user["headers"]).status_code == 401
    assert client.get("/api/projects", headers=accounts.bearer(personal)).status_code == 401
    assert _login(client, user["email"], user["password"]).status_code == 401
    spent = client.post(
        "/api/auth/reset-password", json={"token": reset["reset_token"], "password": PASSWORD}
    )
    assert spent.status_code == 401
    no_token = client.post(f"/api/users/{user['id']}/password", headers=admin["headers"], json={})
    assert no_token.status_code == 409 and no_token.json()["error"]["code"] == "user_inactive"

    on = client.patch(f"/api/users/{user['id']}", headers=admin["headers"], json={"is_active": True})
    assert on.status_code == 200 and on.json()["is_active"] is True
    # the old login session stays revoked; a new login works, and so does the personal token again
    assert client.get("/api/users/me", headers=user["headers"]).status_code == 401
    assert _login(client, user["email"], user["password"]).status_code == 200
    assert client.get("/api/projects", headers=accounts.bearer(personal)).status_code == 200


def test_a_deactivated_admin_is_refused_admin_routes(client, accounts):
    first, second = accounts.user(admin=True), accounts.user(admin=True)
    r = client.patch(f"/api/users/{second['id']}", headers=first["headers"], json={"is_active": False})
    assert r.status_code == 200
    assert client.get("/api/users", headers=second["headers"]).status_code == 401


@pytest.mark.parametrize("change", [{"is_active": False}, {"is_admin": False}])
def test_the_last_active_admin_stays(client, accounts, change):
    admin, other = accounts.user(admin=True), accounts.user()
    with only_admins(admin["id"]):
        r = client.patch(f"/api/users/{admin['id']}", headers=admin["headers"], json=change)
        assert r.status_code == 409 and r.json()["error"]["code"] == "last_admin"
        me = client.get("/api/users/me", headers=admin["headers"]).json()
        assert me["is_admin"] is True and me["is_active"] is True
        # with a second administrator, the first may step down
        up = client.patch(f"/api/users/{other['id']}", headers=admin["headers"], json={"is_admin": True})
        assert up.status_code == 200 and up.json()["is_admin"] is True
        down = client.patch(f"/api/users/{admin['id']}", headers=admin["headers"], json=change)
        assert down.status_code == 200
        again = client.patch(f"/api/users/{other['id']}", headers=other["headers"], json=change)
        assert again.status_code == 409 and again.json()["error"]["code"] == "last_admin"


def _waiting_on_locks() -> int:
    from sqlalchemy import text

    from backend.core.db import session_scope

    # a session each time: pg_stat_activity is read once per transaction
    with session_scope() as s:
        return s.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()


def test_two_admins_deactivating_each_other_at_once_leave_one(client, accounts):
    """The second waits for the first's locks, then sees it is the last: one of them stays."""
    import threading

    from backend.core.db import get_sessionmaker, session_scope
    from backend.core.errors import Conflict
    from backend.users import admin as users_admin
    from backend.users.models import User
    from tests.support.waiting import poll_until

    a, b = accounts.user(admin=True), accounts.user(admin=True)
    outcome: list[str] = []

    def deactivate(target: int) -> None:
        with get_sessionmaker()() as s:
            try:
                users_admin.update_user(
                    s, user=s.get_one(User, target), is_active=False, is_admin=None, name=None
                )
                s.commit()
                outcome.append("deactivated")
            except Conflict as exc:
                s.rollback()
                outcome.append(exc.code)

    with only_admins(a["id"], b["id"]):
        first = get_sessionmaker()()
        try:
            users_admin.update_user(
                first, user=first.get_one(User, b["id"]), is_active=False, is_admin=None, name=None
            )
            second = threading.Thread(target=deactivate, args=(a["id"],))
            second.start()
            poll_until(_waiting_on_locks, "the second deactivation waiting on the locks")
            first.commit()
        finally:
            first.close()
        second.join(timeout=60)
        assert outcome == ["last_admin"]
        with session_scope() as s:
            assert s.get_one(User, a["id"]).is_active and not s.get_one(User, b["id"]).is_active
