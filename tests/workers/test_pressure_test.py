"""The pressure test end to end through the API, the CLI and a real worker: the tiny student (random
weights) against a fake teacher that answers every held-out prompt right and one that answers them all
wrong give opposite verdicts; the same two runs then compare in an experiment whose factor is the
teacher."""

from __future__ import annotations

import pytest

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, run_cli
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.waiting import wait_run


@pytest.fixture(scope="module")
def teachers():
    """Two fake teachers: one answers 42 (right on every prompt here), one 13 (always wrong)."""
    procs, urls = [], {}
    for answer in ("42", "13"):
        port = free_port()
        procs.append(start_fake_server(port, "--answers", answer, "--answer-bytes", "120",
                                       log_path=DATA_DIR / f"fake-pressure-{answer}.log"))  # fmt: skip
        urls[answer] = f"http://127.0.0.1:{port}/v1"
    yield urls
    for p in procs:
        stop_fake_server(p)


def test_a_clearly_better_teacher_and_one_that_is_not_get_opposite_verdicts(
    client, accounts, tmp_path, teachers, tiny_model, celery_worker
):
    owner, viewer = accounts.user(), accounts.user()
    pid = accounts.project(owner, viewer=viewer)
    h = owner["headers"]
    rows = [{"prompt": f"What is six times seven? ({i})", "reference": "42"} for i in range(6)]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "held-out.jsonl", rows))
    tids = {}
    for answer, url in teachers.items():
        body = {
            "name": f"says-{answer}",
            "backend": "openai_compat",
            "model": "fake-teacher",
            "base_url": url,
        }
        tids[answer] = client.post(f"/api/projects/{pid}/teachers", headers=h, json=body).json()["id"]

    body = {"prompt_set_id": pset, "student": str(tiny_model), "split": "all", "sample": 5, "max_tokens": 16}
    # a viewer may not spend; a teacher of nobody's is a 404 and makes nothing
    url = f"/api/projects/{pid}/pressure-tests"
    assert (
        client.post(url, headers=viewer["headers"], json={**body, "teacher_id": tids["42"]}).status_code
        == 403
    )
    assert client.post(url, headers=h, json={**body, "teacher_id": 2**31 - 1}).status_code == 404
    assert client.get(f"/api/projects/{pid}/experiments", headers=h).json() == []

    verdicts = {}
    for answer, tid in tids.items():
        r = client.post(url, headers=h, json={**body, "teacher_id": tid})
        assert r.status_code == 202, r.text
        exp = r.json()
        assert exp["kind"] == "pressure" and exp["pressure"]["verdict"] is None  # nothing measured yet
        run = wait_run(client, h, pid, exp["run_ids"][0])
        assert run["status"] == "succeeded", run
        assert run["recipe"]["stages"] == ["evaluate"] and run["recipe"]["evaluate"]["max_prompts"] == 5
        verdicts[answer] = client.get(f"/api/projects/{pid}/experiments/{exp['id']}", headers=h).json()

    good, bad = verdicts["42"]["pressure"], verdicts["13"]["pressure"]
    assert good["status"] == "succeeded" and good["margin"] == 0.05
    assert good["teacher"]["pass_at_1"] == 1.0 and good["student"]["pass_at_1"] == 0.0
    assert good["difference"] == {"difference": 1.0, "ci": [1.0, 1.0], "prompts": 5}
    assert good["verdict"] == "material" and good["material"] is True
    assert "materially beats" in good["sentence"]
    assert bad["teacher"]["pass_at_1"] == 0.0 and bad["difference"]["difference"] == 0.0
    assert bad["verdict"] == "not_material" and bad["material"] is False
    assert bad["sentence"].endswith("Distillation will not earn its build.")

    # the CLI prints the same verdict
    out = run_cli("experiments", "show", str(verdicts["13"]["id"]), "--project", str(pid))
    assert out.returncode == 0, out.stderr
    printed = " ".join((out.stdout + out.stderr).split())  # rich's console writes to stderr, wrapped
    assert "will not earn its build" in printed and "teacher 0.0%" in printed

    # the two runs share their held-out prompts: one experiment, the teacher its factor
    run_ids = [verdicts["42"]["run_ids"][0], verdicts["13"]["run_ids"][0]]
    r = client.post(
        f"/api/projects/{pid}/experiments", headers=h, json={"name": "teachers", "run_ids": run_ids}
    )
    assert r.status_code == 201, r.text
    table = r.json()
    assert [f["name"] for f in table["factors"]] == ["teacher"]
    assert [row["factors"]["teacher_id"] for row in table["rows"]] == ["says-42", "says-13"]
    assert [row["teacher"]["pass_at_1"] for row in table["rows"]] == [1.0, 0.0]
    # pressure tests' own runs are not grouped again by derive
    assert client.post(f"/api/projects/{pid}/experiments/derive", headers=h).json() == []
