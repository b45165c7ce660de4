"""Teachers, rubrics and estimates through the API."""

from __future__ import annotations

RUBRIC = {
    "template": "Question: {question}\nReference: {reference}\nAnswer: {answer}\n"
    'Reply with JSON {"score": 1-5, "rationale": "..."}.',
    "scale": "score",
    "scale_min": 1,
    "scale_max": 5,
}


def make_teacher(client, h, pid, **body) -> int:
    """A teacher of the project (POST, 201); `body` is the request's JSON, "name" defaulting to "t"."""
    r = client.post(f"/api/projects/{pid}/teachers", headers=h, json={"name": body.pop("name", "t"), **body})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def openai_teacher(client, h, pid, name: str, url: str, **settings) -> int:
    """An openai_compat teacher named and modelled `name` at `url` (with its /v1)."""
    return make_teacher(
        client, h, pid, name=name, backend="openai_compat", model=name, base_url=url, settings=settings
    )


def post_estimate(client, h, pid, pset, tid, **rollout) -> dict:
    recipe = {"prompt_set_id": pset, "teacher_id": tid, "stages": ["rollout"], "rollout": rollout}
    r = client.post(f"/api/projects/{pid}/runs/estimate", headers=h, json={"recipe": recipe})
    assert r.status_code == 200, r.text
    return r.json()
