"""Rollouts through the API: a project with prompts and an OpenAI-compatible teacher, a run launched or
run to its end, and every generation of a run read back page by page."""

from __future__ import annotations

from tests.support.env import unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.waiting import wait_run


def rollout_project(client, accounts, tmp_path, base_url: str, prompts: list[str], **teacher):
    """(project id, owner's headers, prompt set id, teacher id): a fresh owner's project with `prompts`
    and a teacher named "fake" at `base_url` (without /v1); `teacher` overrides the teacher's body."""
    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    pset = seed_prompt_set(
        pid, write_jsonl(tmp_path / f"{unique('p')}.jsonl", [{"prompt": p} for p in prompts])
    )
    body = {"name": "fake", "backend": "openai_compat", "model": "fake-teacher", "base_url": f"{base_url}/v1"}
    r = client.post(f"/api/projects/{pid}/teachers", headers=h, json={**body, **teacher})
    assert r.status_code == 201, r.text
    return pid, h, pset, r.json()["id"]


def launch_rollout(client, h, pid, pset, tid, **rollout) -> dict:
    """A one-stage rollout run, sent (202); returns the run as the API answered."""
    recipe = {"prompt_set_id": pset, "teacher_id": tid, "stages": ["rollout"], "rollout": rollout}
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("run"), "recipe": recipe})
    assert r.status_code == 202, r.text
    return r.json()


def all_generations(client, h, pid, run_id) -> list[dict]:
    """Every generation of the run, through the keyset pages of the API."""
    out, cursor = [], None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        r = client.get(f"/api/projects/{pid}/runs/{run_id}/generations", headers=h, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        out += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


def run_rollout(
    client, accounts, tmp_path, teacher: dict, prompts: int, *, timeout: float = 120, **rollout
) -> tuple[dict, list, dict]:
    """(finished run, its generations, owner's headers): a rollout of `prompts` apple questions on a
    teacher of body `teacher`, waited for to its end (at most `timeout` seconds)."""
    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    rows = [{"prompt": f"how many apples are left if {i} of {i + 7} are eaten"} for i in range(prompts)]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('b')}.jsonl", rows))
    r = client.post(f"/api/projects/{pid}/teachers", headers=h, json={"name": "t", **teacher})
    assert r.status_code == 201, r.text
    recipe = {"prompt_set_id": pset, "teacher_id": r.json()["id"], "stages": ["rollout"], "rollout": rollout}
    run = client.post(
        f"/api/projects/{pid}/runs", headers=h, json={"name": unique("r"), "recipe": recipe}
    ).json()
    run = wait_run(client, h, pid, run["id"], timeout=timeout)
    return run, all_generations(client, h, pid, run["id"]), h
