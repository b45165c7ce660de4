"""Experiments through the API over runs in given states (factories): the factors read from the recipes,
scores with intervals, the paired gain over the base student, cost and cost per point, who may do what,
bad input that changes nothing, and experiments derived from runs sharing an evaluation set."""

from __future__ import annotations

from tests.support.experiments import evaluated_runs


def test_an_experiment_tables_scores_gain_and_cost_per_point(client, accounts, tmp_path):
    owner, viewer, stranger = accounts.user(), accounts.user(), accounts.user()
    pid = accounts.project(owner, viewer=viewer)
    runs = evaluated_runs(pid, tmp_path)
    url = f"/api/projects/{pid}/experiments"
    h = owner["headers"]

    r = client.post(url, headers=h, json={"name": "filter and attempts", "run_ids": [runs["a"], runs["b"]]})
    assert r.status_code == 201, r.text
    exp = r.json()
    assert exp["kind"] == "compare" and exp["auto"] is False and exp["pressure"] is None
    assert exp["eval_set_label"].endswith("split eval")
    # the settings that differ between the two recipes, named; chunk_size tunes speed only
    assert [(f["name"], f["path"]) for f in exp["factors"]] == [
        ("filter", "stages.filter"),
        ("attempts per prompt", "rollout.n"),
    ]
    a, b = exp["rows"]
    assert a["factors"] == {"stages.filter": True, "rollout.n": 4}
    assert b["factors"] == {"stages.filter": False, "rollout.n": 8}
    assert a["student"]["pass_at_1"] == 0.75 and a["student"]["pass_at_1_ci"] == [0.55, 0.95]
    assert a["base"]["pass_at_1"] == 0.25 and a["teacher"]["pass_at_1"] == 1.0
    assert a["gain"]["difference"] == 0.5 and a["gain"]["prompts"] == 4
    lo, hi = a["gain"]["ci"]
    assert 0 <= lo <= 0.5 <= hi <= 1
    # $1 of teacher and 20 + 30 GPU-seconds (rollout + train) for 50 points
    assert a["teacher_usd"] == 1.0 and a["gpu_seconds"] == 50.0
    assert a["usd_per_point"] == 0.02 and a["gpu_seconds_per_point"] == 1.0
    # run b has no base evaluation of its own: the experiment's base student is the baseline
    assert b["base"]["evaluation_id"] == a["base"]["evaluation_id"]
    assert b["gain"]["difference"] == 0.0 and b["usd_per_point"] is None and b["teacher"] is None

    # viewers read it; only maintainers make or delete one; another project sees nothing
    got = client.get(f"{url}/{exp['id']}", headers=viewer["headers"])
    assert got.status_code == 200 and got.json()["rows"] == exp["rows"]
    assert [e["id"] for e in client.get(url, headers=viewer["headers"]).json()] == [exp["id"]]
    again = {"name": "x", "run_ids": [runs["a"]]}
    assert client.post(url, headers=viewer["headers"], json=again).status_code == 403
    assert client.get(f"{url}/{exp['id']}", headers=stranger["headers"]).status_code == 404
    assert client.delete(f"{url}/{exp['id']}", headers=viewer["headers"]).status_code == 403


def test_bad_experiments_say_which_run_and_change_nothing(client, accounts, tmp_path):
    owner, other_owner = accounts.user(), accounts.user()
    pid, other_pid = accounts.project(owner), accounts.project(other_owner)
    runs, foreign = evaluated_runs(pid, tmp_path), evaluated_runs(other_pid, tmp_path)
    url, h = f"/api/projects/{pid}/experiments", owner["headers"]

    r = client.post(url, headers=h, json={"name": "e", "run_ids": [runs["a"], runs["other"]]})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["path"] == "body.run_ids.1"
    assert "first 2" in r.json()["error"]["message"]
    r = client.post(url, headers=h, json={"name": "e", "run_ids": [runs["bare"]]})
    assert r.status_code == 422 and "no evaluate stage" in r.json()["error"]["message"]
    r = client.post(url, headers=h, json={"name": "e", "run_ids": [runs["a"], foreign["a"]]})
    assert r.status_code == 404 and r.json()["error"]["fields"][0]["path"] == "body.run_ids.1"
    r = client.post(url, headers=h, json={"name": "e", "run_ids": [runs["a"], runs["a"]]})
    assert r.status_code == 422
    assert client.get(url, headers=h).json() == []

    assert client.post(url, headers=h, json={"name": "e", "run_ids": [runs["a"]]}).status_code == 201
    r = client.post(url, headers=h, json={"name": "e", "run_ids": [runs["b"]]})
    assert r.status_code == 409 and len(client.get(url, headers=h).json()) == 1


def test_derived_experiments_group_runs_sharing_an_evaluation_set(client, accounts, tmp_path):
    owner = accounts.user()
    pid = accounts.project(owner)
    runs = evaluated_runs(pid, tmp_path)
    url, h = f"/api/projects/{pid}/experiments", owner["headers"]

    made = client.post(f"{url}/derive", headers=h)
    assert made.status_code == 200, made.text
    # a and b share the eval split; `other` is alone on its first two prompts, `bare` has no evaluation
    [auto] = made.json()
    assert auto["auto"] is True and auto["run_ids"] == [runs["a"], runs["b"]]
    # derived again: the same experiment, not a copy
    assert [e["id"] for e in client.post(f"{url}/derive", headers=h).json()] == [auto["id"]]
    assert client.delete(f"{url}/{auto['id']}", headers=h).status_code == 204
    assert client.get(url, headers=h).json() == []
