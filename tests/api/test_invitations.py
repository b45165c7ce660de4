"""Adding a member by e-mail is an invitation: no account oracle, no membership without consent.

The owner's answer is the same whether the address has an account or not; the membership exists only
once the account with that address (matched case-insensitively, even one created after the
invitation) accepts. Nobody else can accept or decline it; owners list and revoke the pending ones;
inviting the same address again changes nothing but its role. The role table (tests/api/test_roles.py)
covers who may call which route.
"""

from __future__ import annotations

import pytest

from tests.support.env import run_cli, unique


def _invite(client, h, pid, email, role="viewer"):
    return client.post(f"/api/projects/{pid}/invitations", headers=h, json={"email": email, "role": role})


def _members(client, h, pid) -> dict[int, str]:
    return {m["user_id"]: m["role"] for m in client.get(f"/api/projects/{pid}/members", headers=h).json()}


def _shape(r) -> tuple:
    body = r.json()
    return r.status_code, sorted(body), body["status"], body["role"]


def test_the_answer_is_the_same_whether_the_address_has_an_account_or_not(client, accounts, proj):
    h, pid = proj
    someone = accounts.user()
    known = _invite(client, h, pid, someone["email"])
    unknown = _invite(client, h, pid, unique("nobody") + "@example.com")
    assert known.status_code == 201, known.text
    assert (
        _shape(known)
        == _shape(unknown)
        == (201, ["created_at", "email", "id", "role", "status"], "pending", "viewer")
    )
    assert known.json()["email"] == someone["email"]
    assert "Test" not in known.text  # the account's name
    # and nobody was added: the old direct route is gone, not answering with the account
    assert someone["id"] not in _members(client, h, pid)
    r = client.post(
        f"/api/projects/{pid}/members", headers=h, json={"email": someone["email"], "role": "viewer"}
    )
    assert r.status_code == 405
    assert someone["id"] not in _members(client, h, pid)


def test_membership_only_after_accept(client, accounts, proj):
    h, pid = proj
    invitee = accounts.user()
    inv = _invite(client, h, pid, invitee["email"].upper(), role="reviewer").json()
    # as typed (the address's checker lower-cases only the domain)
    assert inv["email"].split("@")[0] == invitee["email"].upper().split("@")[0]
    assert invitee["id"] not in _members(client, h, pid)
    assert pid not in [p["id"] for p in client.get("/api/projects", headers=invitee["headers"]).json()]
    assert client.get(f"/api/projects/{pid}", headers=invitee["headers"]).status_code == 404

    mine = client.get("/api/invitations", headers=invitee["headers"]).json()
    assert [(i["id"], i["project_id"], i["role"]) for i in mine] == [(inv["id"], pid, "reviewer")]
    assert mine[0]["project_name"] and mine[0]["invited_by"] == "Test"

    r = client.post(f"/api/invitations/{inv['id']}/accept", headers=invitee["headers"])
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["role"]) == (pid, "reviewer")
    assert _members(client, h, pid)[invitee["id"]] == "reviewer"
    assert client.get("/api/invitations", headers=invitee["headers"]).json() == []
    assert client.get(f"/api/projects/{pid}/invitations", headers=h).json() == []
    # answered once: a second accept or a decline is 404
    for action in ("accept", "decline"):
        assert (
            client.post(f"/api/invitations/{inv['id']}/{action}", headers=invitee["headers"]).status_code
            == 404
        )
    # inviting a member now is a 409 the owner could read off the members list anyway
    assert _invite(client, h, pid, invitee["email"]).status_code == 409


def test_a_stranger_cannot_accept_or_decline(client, accounts, proj):
    h, pid = proj
    invitee, stranger = accounts.user(), accounts.user()
    inv = _invite(client, h, pid, invitee["email"]).json()
    assert client.get("/api/invitations", headers=stranger["headers"]).json() == []
    for action in ("accept", "decline"):
        r = client.post(f"/api/invitations/{inv['id']}/{action}", headers=stranger["headers"])
        assert r.status_code == 404 and r.json()["error"]["code"] == "invitation_not_found"
    # the owner who sent it cannot accept it for the invitee either
    assert client.post(f"/api/invitations/{inv['id']}/accept", headers=h).status_code == 404
    assert stranger["id"] not in _members(client, h, pid)
    assert [i["id"] for i in client.get(f"/api/projects/{pid}/invitations", headers=h).json()] == [inv["id"]]


def test_decline(client, accounts, proj):
    h, pid = proj
    invitee = accounts.user()
    inv = _invite(client, h, pid, invitee["email"]).json()
    r = client.post(f"/api/invitations/{inv['id']}/decline", headers=invitee["headers"])
    assert r.status_code == 204
    assert invitee["id"] not in _members(client, h, pid)
    assert client.get("/api/invitations", headers=invitee["headers"]).json() == []
    assert client.get(f"/api/projects/{pid}/invitations", headers=h).json() == []
    assert client.post(f"/api/invitations/{inv['id']}/accept", headers=invitee["headers"]).status_code == 404


def test_revoke(client, accounts, proj):
    h, pid = proj
    invitee = accounts.user()
    inv = _invite(client, h, pid, invitee["email"]).json()
    assert client.delete(f"/api/projects/{pid}/invitations/{inv['id']}", headers=h).status_code == 204
    assert client.get(f"/api/projects/{pid}/invitations", headers=h).json() == []
    assert client.get("/api/invitations", headers=invitee["headers"]).json() == []
    assert client.post(f"/api/invitations/{inv['id']}/accept", headers=invitee["headers"]).status_code == 404
    assert invitee["id"] not in _members(client, h, pid)
    assert client.delete(f"/api/projects/{pid}/invitations/{inv['id']}", headers=h).status_code == 404
    # another project's owner cannot revoke it through their own project
    other = accounts.user()
    other_pid = accounts.project(other)
    again = _invite(client, h, pid, invitee["email"]).json()
    r = client.delete(f"/api/projects/{other_pid}/invitations/{again['id']}", headers=other["headers"])
    assert r.status_code == 404
    assert [i["id"] for i in client.get(f"/api/projects/{pid}/invitations", headers=h).json()] == [
        again["id"]
    ]


def test_inviting_again_is_idempotent(client, accounts, proj):
    h, pid = proj
    email = unique("twice") + "@example.com"
    first = _invite(client, h, pid, email).json()
    second = _invite(client, h, pid, "  " + email.upper() + " ", role="maintainer")
    assert second.status_code == 201
    assert second.json()["id"] == first["id"] and second.json()["role"] == "maintainer"
    pending = client.get(f"/api/projects/{pid}/invitations", headers=h).json()
    assert [(i["id"], i["role"]) for i in pending] == [(first["id"], "maintainer")]


def test_an_account_made_later_sees_its_invitation(client, accounts, proj):
    h, pid = proj
    email = unique("later") + "@example.com"
    inv = _invite(client, h, pid, email, role="maintainer").json()
    from backend.core.db import session_scope
    from backend.users.service import create_user

    with session_scope() as s:
        uid = create_user(s, email=email.upper(), password="correct horse battery", name="Late").id
    late = accounts.bearer(accounts.token_for(uid))
    assert [i["id"] for i in client.get("/api/invitations", headers=late).json()] == [inv["id"]]
    assert client.post(f"/api/invitations/{inv['id']}/accept", headers=late).json()["role"] == "maintainer"
    assert _members(client, h, pid)[uid] == "maintainer"


@pytest.mark.slow  # the CLI in processes of its own
def test_cli_members_add_adds_directly_for_administrators(client, accounts, proj):
    h, pid = proj
    user = accounts.user()
    done = run_cli("members", "add", str(pid), user["email"], "--role", "reviewer", timeout=120)
    assert done.returncode == 0, done.stderr
    assert _members(client, h, pid)[user["id"]] == "reviewer"
    assert "directly" in run_cli("members", "add", "--help", timeout=120).stdout
    unknown = run_cli("members", "add", str(pid), unique("ghost") + "@example.com", timeout=120)
    assert unknown.returncode == 2 and "no user" in unknown.stderr


def test_two_owners_inviting_at_once_make_one_row(client, accounts, proj):
    """The second of two simultaneous invitations waits on the first's pending row (the partial unique
    index), then returns it instead of failing or adding a second one."""
    import threading

    from backend.core.db import get_sessionmaker
    from backend.projects.invitations import invite
    from backend.projects.models import Project, Role

    h, pid = proj
    email = unique("race") + "@example.com"
    first, second = get_sessionmaker()(), get_sessionmaker()()
    try:
        a = invite(first, project=first.get(Project, pid), email=email, role=Role.viewer, by=None)
        out: dict = {}

        def other():
            try:
                out["id"] = invite(
                    second, project=second.get(Project, pid), email=email.upper(), role=Role.reviewer, by=None
                ).id
                second.commit()
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                out["error"] = exc

        t = threading.Thread(target=other)
        t.start()
        t.join(1.0)
        assert t.is_alive()  # waiting on the first's uncommitted row
        first.commit()
        t.join(10)
        assert out == {"id": a.id}
    finally:
        first.close()
        second.close()
    pending = client.get(f"/api/projects/{pid}/invitations", headers=h).json()
    assert [(i["id"], i["role"]) for i in pending] == [(a.id, "reviewer")]
