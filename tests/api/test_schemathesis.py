"""Schemathesis against /api/openapi.json with the not_a_server_error check: whatever a client sends
that the schema allows or not, no operation answers 5xx. `make schemathesis` runs it with more
examples (DISTILLERY_SCHEMATHESIS_EXAMPLES)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from backend.main import create_app

EXAMPLES = int(os.environ.get("DISTILLERY_SCHEMATHESIS_EXAMPLES", "15"))

# logout would end the fuzzing user's session and leave the rest of the run at 401s
schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app()).exclude(operation_id="logout")


@pytest.fixture(scope="module")
def fuzzer() -> Iterator[dict[str, int]]:
    """An administrator who owns a project: half the cases are sent to that project, so they get past
    the membership check to the route's own validation."""
    from sqlalchemy import delete, insert, select

    from backend.core.db import session_scope
    from backend.prices.models import Price
    from backend.projects.service import create_project
    from backend.users.models import LoginThrottle
    from backend.users.service import create_user
    from tests.support.env import unique

    with session_scope() as s:
        user = create_user(
            s, email=f"{unique('fuzz')}@example.com", password="fuzzing-password", is_admin=True
        )
        ids = {"user_id": user.id, "project_id": create_project(s, owner=user, name=unique("fuzz")).id}
        # the one account the admin routes' cases may change (deactivate, reset): never another test's
        ids["victim_id"] = create_user(
            s, email=f"{unique('victim')}@example.com", password="victim-password"
        ).id
        cols = [c.key for c in Price.__table__.columns]
        prices = [dict(zip(cols, row, strict=True)) for row in s.execute(select(*Price.__table__.columns))]
    yield ids
    with session_scope() as s:  # generated logins fail by the hundred: later tests log in from here too
        s.execute(delete(LoginThrottle))
        # The fuzzing admin may PUT or DELETE any price; later tests price local teachers by the seeded table.
        s.execute(delete(Price))
        s.execute(insert(Price), prices)


_sent = itertools.count()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same cases on every run: a failure here is reproducible
)
def test_no_operation_answers_a_server_error(case, fuzzer):
    from tests.support.accounts import Accounts

    headers = {**(case.headers or {}), **Accounts.bearer(Accounts.token_for(fuzzer["user_id"]))}
    if isinstance((case.path_parameters or {}).get("project_id"), int) and next(_sent) % 2:
        case.path_parameters["project_id"] = fuzzer["project_id"]
    if "user_id" in (case.path_parameters or {}):
        case.path_parameters["user_id"] = fuzzer["victim_id"]
    response = case.call(headers=headers)
    case.validate_response(response, checks=[not_a_server_error])
