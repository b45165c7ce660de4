"""What the api tests share: a project of a fresh owner (`proj`), its prompt sets; for the estimate and probe
tests a project with a small prompt set, a teacher, an estimate."""

from __future__ import annotations

import pytest

from tests.conftest import seed_prompt_set, write_jsonl

PROMPTS = 10  # in the `project` fixture's prompt set


@pytest.fixture
def proj(accounts):
    """(headers, project id) of a fresh owner's new project."""
    owner = accounts.user()
    return owner["headers"], accounts.project(owner)


def prompt_sets(client, h, pid) -> list:
    return client.get(f"/api/projects/{pid}/prompt-sets", headers=h).json()


@pytest.fixture
def project(client, accounts, tmp_path):
    """(owner's headers, project id, prompt set id) with PROMPTS prompts q0..q9."""
    owner = accounts.user()
    pid = accounts.project(owner)
    pset = seed_prompt_set(
        pid, write_jsonl(tmp_path / "e.jsonl", [{"prompt": f"q{i}"} for i in range(PROMPTS)])
    )
    return owner["headers"], pid, pset


def make_teacher(client, h, pid, **body) -> int:
    r = client.post(f"/api/projects/{pid}/teachers", headers=h, json={"name": body.pop("name", "t"), **body})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def post_estimate(client, h, pid, pset, tid, **rollout) -> dict:
    recipe = {"prompt_set_id": pset, "teacher_id": tid, "stages": ["rollout"], "rollout": rollout}
    r = client.post(f"/api/projects/{pid}/runs/estimate", headers=h, json=recipe)
    assert r.status_code == 200, r.text
    return r.json()
