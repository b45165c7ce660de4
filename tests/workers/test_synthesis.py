"""Evol-Instruct synthesis through the API, the worker and a real OpenAI-compatible server
(`transformers serve`) over the project's tiny local model."""

from __future__ import annotations

from pathlib import Path

from backend.core.net import free_port
from tests.support.prompts import write_jsonl
from tests.support.teachers import make_teacher
from tests.support.waiting import wait_job

ROOT = Path(__file__).resolve().parents[2]


def test_variants_land_as_a_new_version_with_lineage(client, accounts, importer, tiny_server, tmp_path):
    base_url, model = tiny_server
    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    seeds = [f"How many apples are left if {i} of {i + 9} apples are eaten?" for i in range(6)]
    src = importer(
        h, pid, write_jsonl(tmp_path / "seeds.jsonl", [{"prompt": t} for t in seeds]), name="seeds"
    )
    src = src["result"]["prompt_set"]
    tid = make_teacher(client, h, pid, name="tiny", backend="openai_compat", model=model, base_url=base_url)
    r = client.post(
        f"/api/projects/{pid}/prompt-sets/{src['id']}/synthesize",
        headers=h,
        json={"teacher_id": tid, "evolutions": ["deepen", "broaden"], "temperature": 1.0, "max_tokens": 48},
    )
    assert r.status_code == 202, r.text
    job = wait_job(client, h, pid, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    res = job["result"]
    assert res["requested"] == 12 and job["progress_done"] == job["progress_total"] == 12
    new = res["prompt_set"]
    assert (new["name"], new["version"], new["parent_id"]) == ("seeds", 2, src["id"])
    assert new["prompt_count"] == 6 + res["added"] and res["added"] >= 1
    items = client.get(f"/api/projects/{pid}/prompt-sets/{new['id']}/prompts?limit=100", headers=h).json()[
        "items"
    ]
    assert [i["text"] for i in items[:6]] == seeds  # the seeds stay, in order
    evolved = items[6:]
    assert len(evolved) == res["added"]
    for item in evolved:
        assert item["meta"]["evolved_from"] in range(1, 7) and item["meta"]["evolution"] in (
            "deepen",
            "broaden",
        )
        assert item["meta"]["teacher"] == "tiny" and len(item["text"].split()) >= 3
    # the synthesized version is indexed for the sample browser's search like any import
    search = wait_job(client, h, pid, res["search_job_id"])
    assert search["status"] == "succeeded" and search["result"]["prompts"] == new["prompt_count"]


def test_unreachable_teacher_fails_the_job_with_the_cause(client, accounts, importer, tmp_path):
    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    src = importer(h, pid, write_jsonl(tmp_path / "s.jsonl", [{"prompt": "What is two plus two?"}]))
    tid = make_teacher(
        client,
        h,
        pid,
        name="tiny",
        backend="openai_compat",
        model="m",
        base_url=f"http://127.0.0.1:{free_port()}/v1",
        settings={"max_retries": 1},
    )
    r = client.post(
        f"/api/projects/{pid}/prompt-sets/{src['result']['prompt_set']['id']}/synthesize",
        headers=h,
        json={"teacher_id": tid, "evolutions": ["deepen"]},
    )
    job = wait_job(client, h, pid, r.json()["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "no_variants"
    (cause,) = job["error"]["details"]["dropped"]
    assert cause.startswith("teacher_failed: connection") and cause.endswith("after 2 tries"), cause
    assert len(client.get(f"/api/projects/{pid}/prompt-sets", headers=h).json()) == 1


def test_teacher_without_endpoint_is_refused(client, accounts, tmp_path):
    from tests.support.prompts import seed_prompt_set

    owner = accounts.user()
    pid = accounts.project(owner)
    ps = seed_prompt_set(pid, write_jsonl(tmp_path / "s.jsonl", [{"prompt": "x y z"}]))
    tid = make_teacher(
        client,
        owner["headers"],
        pid,
        name="tiny",
        backend="transformers_local",
        model="Qwen/Qwen2.5-0.5B-Instruct",
    )
    r = client.post(
        f"/api/projects/{pid}/prompt-sets/{ps}/synthesize", headers=owner["headers"], json={"teacher_id": tid}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "teacher_without_endpoint"
    r = client.post(
        f"/api/projects/{pid}/prompt-sets/{ps}/synthesize",
        headers=owner["headers"],
        json={"teacher_id": tid, "evolutions": ["sideways"]},
    )
    assert r.status_code == 422 and "body.evolutions.0" in {f["path"] for f in r.json()["error"]["fields"]}
