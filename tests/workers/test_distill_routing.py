"""On-policy distillation from two local teachers routed by prompt (train.teachers), through the API and
a real worker: the snapshot's prompts are routed by their metadata, each teacher scores the student's
samples of its own prompts only, and the summary and the model card count them per teacher. Refused
at creation: a route to another project's teacher."""

from __future__ import annotations

import pytest

from tests.support.env import unique
from tests.support.models import tiny_model, tiny_peer
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.teachers import make_teacher
from tests.workers.train_helpers import conversations, make_snapshot, post_train, train_run


@pytest.fixture(scope="module")
def student() -> str:
    return tiny_peer()


def test_each_prompt_is_scored_by_its_routed_teacher(client, accounts, tmp_path, student, celery_worker):
    owner = accounts.user()
    pid, h = accounts.project(owner), owner["headers"]
    rows = [{"prompt": f"q{i}", "tags": ["math"] if i % 2 else []} for i in range(4)]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('p')}.jsonl", rows))
    prompts = client.get(f"/api/projects/{pid}/prompt-sets/{pset}/prompts", headers=h).json()["items"]
    ids = [p["id"] for p in sorted(prompts, key=lambda p: p["position"])]
    snap = make_snapshot(pid, conversations(4, seed=5), pairs=False, prompt_ids=ids)
    plain = make_teacher(client, h, pid, name="plain", backend="transformers_local", model=str(tiny_model()))
    mathy = make_teacher(client, h, pid, name="mathy", backend="transformers_local", model=student)
    train = {
        "student": student,
        "snapshot_id": snap,
        "method": "distill",
        "max_steps": 2,
        "per_device_batch_size": 2,
        "max_completion_length": 8,
        "beta": 1.0,
        "learning_rate": 1e-4,
        "teachers": [{"match": {"tag": "math"}, "teacher_id": mathy}],
    }
    run = train_run(client, h, pid, pset, train, teacher_id=plain)
    assert run["status"] == "succeeded", [(s["kind"], s["status"], s.get("error")) for s in run["stages"]]
    s = run["summary"]["train"]
    assert s["step"] == 2 and s["loss"] is not None
    taught = {t["teacher_id"]: t for t in s["teachers"]}
    assert {k: (t["name"], t["prompts"]) for k, t in taught.items()} == {
        plain: ("plain", 2),
        mathy: ("mathy", 2),
    }
    # two steps of two samples: each sample scored by exactly one teacher, its prompt's
    assert taught[plain]["scored"] + taught[mathy]["scored"] == 4
    assert taught[plain]["scored"] > 0 and taught[mathy]["scored"] > 0
    card = client.get(f"/api/projects/{pid}/models/{s['artifact_id']}/card", headers=h).text
    assert f"mathy (id {mathy}, `{student}`): 2 prompts, {taught[mathy]['scored']} samples scored" in card

    stranger = accounts.user()
    foreign = make_teacher(client, stranger["headers"], accounts.project(stranger), name="x",
                           backend="transformers_local", model=student)  # fmt: skip
    routes = [{"match": {"tag": "m"}, "teacher_id": foreign}]
    r = post_train(client, h, pid, pset, {**train, "teachers": routes}, teacher_id=plain)
    assert (
        r.status_code == 404
        and r.json()["error"]["fields"][0]["path"] == "body.recipe.train.teachers.0.teacher_id"
    )
