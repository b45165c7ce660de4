"""Login, sessions, personal tokens, sign-up and admin-only account creation."""

from __future__ import annotations

from tests.support.env import unique


def test_login_then_me(client, accounts):
    user = accounts.user(password="s3cret-password")
    r = client.post("/api/auth/login", json={"email": user["email"].upper(), "password": "s3cret-password"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["access_token"].startswith("dst_")
    me = client.get("/api/users/me", headers=accounts.bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == user["email"]
    assert "password" not in me.text and "password_hash" not in me.json()


def test_wrong_password_and_unknown_email_look_the_same(client, accounts):
    user = accounts.user()
    bad_pw = client.post("/api/auth/login", json={"email": user["email"], "password": "nope"})
    no_user = client.post("/api/auth/login", json={"email": "ghost@example.com", "password": "nope"})
    assert bad_pw.status_code == no_user.status_code == 401
    assert bad_pw.json() == no_user.json()
    assert bad_pw.json()["error"]["code"] == "bad_credentials"


def test_missing_and_garbage_tokens_are_401(client):
    assert client.get("/api/users/me").json()["error"]["code"] == "not_authenticated"
    r = client.get("/api/users/me", headers={"Authorization": "Bearer dst_not-a-real-token"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    assert r.headers["www-authenticate"] == "Bearer"


def test_logout_revokes_sessions_but_not_personal_tokens(client, accounts):
    user = accounts.user()
    personal = client.post("/api/tokens", headers=user["headers"], json={"name": "ci"}).json()["token"]
    assert client.post("/api/auth/logout", headers=user["headers"]).status_code == 204
    assert client.get("/api/users/me", headers=user["headers"]).status_code == 401
    assert client.get("/api/users/me", headers=accounts.bearer(personal)).status_code == 200


def test_personal_token_shown_once_stored_hashed_and_revocable(client, accounts):
    from sqlalchemy import select

    from backend.core.db import session_scope
    from backend.users.models import ApiToken

    user = accounts.user()
    created = client.post("/api/tokens", headers=user["headers"], json={"name": "automation"})
    assert created.status_code == 201
    token = created.json()["token"]
    listed = client.get("/api/tokens", headers=user["headers"]).json()
    assert [t["name"] for t in listed] == ["automation"]
    assert token not in client.get("/api/tokens", headers=user["headers"]).text
    with session_scope() as s:
        stored = s.scalars(select(ApiToken.token_hash).where(ApiToken.user_id == user["id"])).all()
    assert token not in stored and all(len(h) == 64 for h in stored)

    auth = accounts.bearer(token)
    assert client.get("/api/projects", headers=auth).status_code == 200
    assert client.delete(f"/api/tokens/{created.json()['id']}", headers=user["headers"]).status_code == 204
    assert client.get("/api/projects", headers=auth).status_code == 401


def test_cannot_revoke_someone_elses_token(client, accounts):
    a, b = accounts.user(), accounts.user()
    tid = client.post("/api/tokens", headers=a["headers"], json={"name": "mine"}).json()["id"]
    assert client.delete(f"/api/tokens/{tid}", headers=b["headers"]).status_code == 404
    assert client.get("/api/tokens", headers=a["headers"]).json()[0]["revoked_at"] is None


def test_expired_token_is_refused(client, accounts):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from backend.core.db import session_scope
    from backend.users.models import ApiToken

    user = accounts.user()
    body = client.post("/api/tokens", headers=user["headers"], json={"name": "short", "expires_in_days": 1})
    with session_scope() as s:
        s.execute(
            update(ApiToken)
            .where(ApiToken.id == body.json()["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    r = client.get("/api/users/me", headers=accounts.bearer(body.json()["token"]))
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"


def test_signup_is_off_by_default(client):
    r = client.post("/api/auth/signup", json={"email": "new@example.com", "password": "longenough"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "signup_disabled"


def test_only_admins_create_users_and_duplicates_conflict(client, accounts):
    admin, plain = accounts.user(admin=True), accounts.user()
    email = unique("new") + "@example.com"
    body = {"email": email, "password": "longenough"}
    assert client.post("/api/users", headers=plain["headers"], json=body).status_code == 403
    assert client.post("/api/users", headers=admin["headers"], json=body).status_code == 201
    dup = client.post("/api/users", headers=admin["headers"], json={**body, "email": email.upper()})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "email_taken"
    assert client.post("/api/auth/login", json=body).status_code == 200
