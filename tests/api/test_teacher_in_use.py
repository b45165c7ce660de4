"""A teacher is not deleted while a run that has not finished draws from it or judges with it: the run's
teacher_id would turn NULL mid-stage (SET NULL) and its next chunk could only fail."""

from __future__ import annotations

import pytest

from tests.support.factories import make_prompt_set, make_run
from tests.support.teachers import make_teacher

URL = "https://api.example.com/v1"


def _teacher(client, h, pid, name):
    return make_teacher(client, h, pid, name=name, backend="openai_compat", model=name, base_url=URL)


@pytest.mark.parametrize("role", ["drawn", "judge"])
def test_a_teacher_in_use_is_kept_until_its_run_ends(client, accounts, role):
    from backend.core.db import session_scope
    from backend.runs.models import Run, Status

    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    drawn, judge = _teacher(client, h, pid, "drawn"), _teacher(client, h, pid, "judge")
    pset = make_prompt_set(pid)
    recipe = {"prompt_set_id": pset, "teacher_id": drawn, "judge": {"teacher_id": judge}}
    with session_scope() as s:
        rid = make_run(
            s, project_id=pid, prompt_set_id=pset, teacher_id=drawn, recipe=recipe, status="running"
        ).id
    target = drawn if role == "drawn" else judge

    r = client.delete(f"/api/projects/{pid}/teachers/{target}", headers=h)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "teacher_in_use"
    assert f"run(s) {rid} " in r.json()["error"]["message"]
    assert client.get(f"/api/projects/{pid}/teachers/{target}", headers=h).status_code == 200

    with session_scope() as s:
        s.get(Run, rid).status = Status.cancelled
    assert client.delete(f"/api/projects/{pid}/teachers/{target}", headers=h).status_code == 204
    assert client.get(f"/api/projects/{pid}/teachers/{target}", headers=h).status_code == 404
