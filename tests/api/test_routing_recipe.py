"""rollout.teachers in a recipe: a bad route is a 422 naming its field, a teacher of another project a
404 naming it, and nothing is created; a good one is stored as sent."""

from __future__ import annotations

import pytest

from tests.support.env import unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.teachers import make_teacher


@pytest.fixture
def project(client, accounts, tmp_path):
    owner = accounts.user()
    pid = accounts.project(owner)
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "p.jsonl", [{"prompt": "a", "tags": ["math"]}]))
    h = owner["headers"]
    body = {"backend": "openai_compat", "model": "m", "base_url": "https://api.example.com/v1"}
    return {"h": h, "pid": pid, "pset": pset, "tid": make_teacher(client, h, pid, **body),
            "other": make_teacher(client, h, pid, name="other", **body), "body": body}  # fmt: skip


def _post(client, p, routes, **rollout):
    recipe = {"prompt_set_id": p["pset"], "teacher_id": p["tid"], "stages": ["rollout"],
              "rollout": {"teachers": routes, **rollout}}  # fmt: skip
    return client.post(
        f"/api/projects/{p['pid']}/runs", headers=p["h"], json={"name": unique("r"), "recipe": recipe}
    )


def _runs(client, p) -> int:
    return len(client.get(f"/api/projects/{p['pid']}/runs", headers=p["h"]).json()["items"])


OTHER = "other"  # stands for the project's second teacher


@pytest.mark.parametrize(
    ("route", "path"),
    [
        ({"match": {"tag": "a", "field": "metadata.x", "equals": 1}, "teacher_id": OTHER}, "match"),
        ({"match": {"field": "metadata.x"}, "teacher_id": OTHER}, "match"),
        ({"match": {"field": "domain", "equals": 1}, "teacher_id": OTHER}, "match.field"),
        ({"match": {"tag": "a"}, "teacher_id": 0}, "teacher_id"),
        ({"match": {"tag": "a"}}, "teacher_id"),
    ],
)
def test_a_bad_route_is_a_422_naming_its_field(client, project, route, path):
    before = _runs(client, project)
    if route.get("teacher_id") == OTHER:
        route = {**route, "teacher_id": project["other"]}
    r = _post(client, project, [route])
    assert r.status_code == 422, r.text
    fields = [f["path"] for f in r.json()["error"].get("fields") or []]
    assert any(f.startswith(f"body.recipe.rollout.teachers.0.{path}") for f in fields), fields
    assert _runs(client, project) == before


def test_a_teacher_of_another_project_is_refused(client, accounts, project):
    stranger = accounts.user()
    theirs = accounts.project(stranger)
    foreign = make_teacher(client, stranger["headers"], theirs, **project["body"])
    before = _runs(client, project)
    r = _post(client, project, [{"match": {"tag": "math"}, "teacher_id": project["other"]},
                                {"match": {"tag": "code"}, "teacher_id": foreign}])  # fmt: skip
    assert r.status_code == 404, r.text
    err = r.json()["error"]
    assert f"teacher {foreign} not found" in err["message"]
    assert err["fields"][0]["path"] == "body.recipe.rollout.teachers.1.teacher_id"
    assert _runs(client, project) == before


@pytest.mark.parametrize(("rollout", "word"), [({"mode": "batch"}, "batch"), ({"logprobs": 5}, "logprobs")])
def test_routes_refuse_a_batch_and_the_logprob_cache(client, project, rollout, word):
    r = _post(client, project, [{"match": {"tag": "math"}, "teacher_id": project["other"]}], **rollout)
    assert r.status_code == 422, r.text
    assert "rollout.teachers" in r.text and word in r.text


def test_a_good_route_is_stored_as_sent(client, project):
    route = {"match": {"field": "metadata.domain", "equals": "code"}, "teacher_id": project["other"]}
    r = _post(client, project, [route])
    assert r.status_code == 202, r.text
    stored = r.json()["recipe"]["rollout"]["teachers"]
    assert stored[0]["teacher_id"] == project["other"]
    assert stored[0]["match"]["field"] == "metadata.domain" and stored[0]["match"]["equals"] == "code"


def test_the_estimate_gives_each_routed_teacher_its_share(client, project, tmp_path):
    p = project
    pset = seed_prompt_set(
        p["pid"],
        write_jsonl(
            tmp_path / "q.jsonl", [{"prompt": f"q{i}", "tags": ["math"] if i < 3 else []} for i in range(5)]
        ),
    )
    cheap = make_teacher(
        client, p["h"], p["pid"], name="cheap", settings={"price_output_per_m": 1.0}, **p["body"]
    )
    dear = make_teacher(
        client, p["h"], p["pid"], name="dear", settings={"price_output_per_m": 100.0}, **p["body"]
    )
    rollout = {"n": 2, "max_tokens": 100, "teachers": [{"match": {"tag": "math"}, "teacher_id": dear}]}
    recipe = {"prompt_set_id": pset, "teacher_id": cheap, "stages": ["rollout"], "rollout": rollout}
    r = client.post(f"/api/projects/{p['pid']}/runs/estimate", headers=p["h"], json={"recipe": recipe})
    assert r.status_code == 200, r.text
    est = r.json()
    shares = {t["teacher_id"]: (t["prompts"], t["attempts"], t["output_tokens"]) for t in est["teachers"]}
    assert shares == {cheap: (2, 4, 400), dear: (3, 6, 600)}
    assert (est["prompts"], est["attempts"], est["output_tokens"]) == (5, 10, 1000)
    by_cost = {t["teacher_id"]: t["cost_usd"] for t in est["teachers"]}
    assert by_cost[dear] == pytest.approx(600 * 100.0 / 1e6, rel=1e-3)
    assert est["cost_usd"] == pytest.approx(by_cost[cheap] + by_cost[dear], abs=1e-4)
