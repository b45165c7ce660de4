"""Users, bearer headers and projects, made through the platform's own services."""

from __future__ import annotations

from functools import cache
from unittest import mock

from tests.support.env import unique


@cache
def _hash_of(password: str) -> str:
    """One real argon2 hash per password for the session: hashing costs about 0.2 s of CPU (by design),
    and API tests make hundreds of users. The hash is a valid one of that password (login verifies it
    as usual); only its salt is shared between test users."""
    from backend.core.security import hash_password

    return hash_password(password)


class Accounts:
    """Makes users and bearer headers quickly (password hashing is the slow part, so users are reused)."""

    def __init__(self, client=None):
        self.client = client

    def user(self, *, admin: bool = False, password: str = "correct horse battery") -> dict:
        from backend.core.db import session_scope
        from backend.users.service import create_user

        email = unique("user") + "@example.com"
        with session_scope() as s, mock.patch("backend.users.service.hash_password", _hash_of):
            u = create_user(s, email=email, password=password, name="Test", is_admin=admin)
            uid = u.id
        token = self.token_for(uid)
        return {"id": uid, "email": email, "password": password, "headers": self.bearer(token)}

    @staticmethod
    def token_for(user_id: int) -> str:
        from backend.core.db import session_scope
        from backend.users.models import User
        from backend.users.service import issue_token

        with session_scope() as s:
            _, token = issue_token(s, user=s.get(User, user_id), kind="session", name="test", ttl=None)
        return token

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def project(self, owner: dict, **members: dict) -> int:
        """A project owned by `owner`, with each other user added at the role named by its key."""
        from backend.core.db import session_scope
        from backend.projects.models import Membership, Role
        from backend.projects.service import create_project
        from backend.users.models import User

        with session_scope() as s:
            p = create_project(s, owner=s.get(User, owner["id"]), name=unique("project"))
            for role, user in members.items():
                s.add(Membership(project_id=p.id, user_id=user["id"], role=Role(role)))
            return p.id
