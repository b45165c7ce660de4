"""The rollout's smoke sample (rollout.smoke) through the API and a real Celery worker, against the
project's fake OpenAI-compatible teacher: choice 0 of every request answers 42, choice 1 answers 7,
so with n=2 and references of 42 the sample's acceptance is exactly 0.5 and the floor decides."""

from __future__ import annotations

import random

import httpx
import pytest
from sqlalchemy import select

from backend.core.net import free_port
from backend.samples.models import Generation
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, run_cli, unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.rollouts import all_generations
from tests.support.waiting import poll_until, wait_run

PROMPTS = 12
SAMPLE = 4
N = 2


@pytest.fixture(scope="module")
def teacher():
    port = free_port()
    proc = start_fake_server(port, "--answers", "42,7", "--answer-bytes", "200",
                             log_path=DATA_DIR / "fake-smoke.log")  # fmt: skip
    yield f"http://127.0.0.1:{port}"
    stop_fake_server(proc)


def _requests(base: str) -> int:
    return httpx.get(f"{base}/stats").json()["requests"]


def _project(client, accounts, tmp_path, base: str) -> dict:
    owner, viewer = accounts.user(), accounts.user()
    pid = accounts.project(owner, viewer=viewer)
    rows = [{"prompt": f"What is six times seven? (case {i})", "reference": "42"} for i in range(PROMPTS)]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('smoke')}.jsonl", rows))
    body = {"name": "fake", "backend": "openai_compat", "model": "fake-teacher", "base_url": f"{base}/v1"}
    r = client.post(f"/api/projects/{pid}/teachers", headers=owner["headers"], json=body)
    assert r.status_code == 201, r.text
    return {
        "pid": pid,
        "h": owner["headers"],
        "viewer": viewer["headers"],
        "pset": pset,
        "tid": r.json()["id"],
    }


def _launch(client, p: dict, min_accept: float, **rollout) -> int:
    recipe = {
        "prompt_set_id": p["pset"],
        "teacher_id": p["tid"],
        "stages": ["rollout", "filter"],
        "rollout": {"n": N, "max_tokens": 64, "chunk_size": 5, "use_cache": False,
                    "smoke": {"prompts": SAMPLE, "min_accept": min_accept}, **rollout},
        "filter": {"verifiers": {"verifiers": [{"name": "math", "settings": {"timeout_s": 10}}]}},
    }  # fmt: skip
    r = client.post(
        f"/api/projects/{p['pid']}/runs", headers=p["h"], json={"name": unique("s"), "recipe": recipe}
    )
    assert r.status_code == 202, r.text
    return r.json()["id"]


def _rollout(run: dict) -> dict:
    return next(s for s in run["stages"] if s["kind"] == "rollout")


def _waiting(client, p: dict, run_id: int) -> dict:
    """The run once its rollout stopped on the sample, waiting for a decision."""
    url = f"/api/projects/{p['pid']}/runs/{run_id}"
    last: dict = {}

    def check() -> dict | None:
        nonlocal last
        last = client.get(url, headers=p["h"]).json()
        assert last["status"] not in ("succeeded", "failed", "cancelled"), last
        smoke = (_rollout(last)["metrics"] or {}).get("smoke")
        return last if smoke and smoke["decision"] == "pending" else None

    return poll_until(check, "smoke decision pending", timeout=120, seen=lambda: last)


def _assert_sample(client, p: dict, run: dict) -> list[dict]:
    """The sample's result as the API shows it: 4 prompts drawn with seed 0, not the first 4; each
    attempt with its excerpt and the math verifier's reason."""
    smoke = _rollout(run)["metrics"]["smoke"]
    assert (smoke["prompts"], smoke["attempts"], smoke["accepted"], smoke["acceptance"]) == (
        SAMPLE,
        8,
        4,
        0.5,
    )
    prompts = client.get(
        f"/api/projects/{p['pid']}/prompt-sets/{p['pset']}/prompts", headers=p["h"], params={"limit": 100}
    ).json()["items"]
    by_position = sorted(prompts, key=lambda x: x["position"])
    drawn = sorted(random.Random(0).sample([x["position"] for x in by_position], SAMPLE))
    want = {x["id"] for x in by_position if x["position"] in drawn}
    assert {v["prompt_id"] for v in smoke["verdicts"]} == want
    assert want != {x["id"] for x in by_position[:SAMPLE]}
    rejected = smoke["verdicts"][0]  # rejected ones first
    assert rejected["accepted"] is False and "Answer: 7" in rejected["excerpt"]
    assert rejected["reasons"] and rejected["reasons"][0]["verifier"] == "math"
    assert rejected["reasons"][0]["status"] == "wrong"
    return smoke["verdicts"]


def _exact(gens: list[dict], prompts: int) -> None:
    assert len(gens) == prompts * N
    assert len({(g["prompt_id"], g["attempt"]) for g in gens}) == prompts * N


def test_above_the_floor_runs_straight_through(client, accounts, celery_worker, teacher, tmp_path):
    p = _project(client, accounts, tmp_path, teacher)
    before = _requests(teacher)
    run = wait_run(client, p["h"], p["pid"], _launch(client, p, 0.5))
    assert run["status"] == "succeeded", run
    smoke = _rollout(run)["metrics"]["smoke"]
    assert smoke["decision"] == "passed" and smoke["acceptance"] == 0.5 and smoke["min_accept"] == 0.5
    _exact(all_generations(client, p["h"], p["pid"], run["id"]), PROMPTS)
    assert _requests(teacher) - before == PROMPTS  # one request (n choices) per prompt, the sample's once
    roll, filt = run["summary"]["rollout"], run["summary"]["filter"]
    assert roll["generations"] == PROMPTS * N and roll["smoke"]["decision"] == "passed"
    assert (filt["verified"], filt["accepted"]) == (PROMPTS * N, PROMPTS)
    assert _rollout(run)["progress_done"] == _rollout(run)["progress_total"] == PROMPTS * N
    # (d) nothing pending: 409; a viewer may not decide: 403
    url = f"/api/projects/{p['pid']}/runs/{run['id']}/smoke"
    r = client.post(url, headers=p["h"], json={"decision": "continue"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_decision_pending", r.text
    assert client.post(url, headers=p["viewer"], json={"decision": "continue"}).status_code == 403
    assert client.post(url, headers=p["h"], json={"decision": "maybe"}).status_code == 422


def test_below_the_floor_waits_then_continue_asks_only_the_rest(
    client, accounts, celery_worker, teacher, tmp_path
):
    p = _project(client, accounts, tmp_path, teacher)
    before = _requests(teacher)
    run_id = _launch(client, p, 0.9)
    run = _waiting(client, p, run_id)
    assert run["status"] == "running" and _rollout(run)["status"] == "running"
    _assert_sample(client, p, run)
    assert _requests(teacher) - before == SAMPLE
    _exact(all_generations(client, p["h"], p["pid"], run_id), SAMPLE)
    url = f"/api/projects/{p['pid']}/runs/{run_id}/smoke"
    assert client.post(url, headers=p["viewer"], json={"decision": "continue"}).status_code == 403
    r = client.post(url, headers=p["h"], json={"decision": "continue"})
    assert r.status_code == 202, r.text
    assert _rollout(r.json())["metrics"]["smoke"]["decision"] == "continued"
    assert client.post(url, headers=p["h"], json={"decision": "continue"}).status_code == 409
    run = wait_run(client, p["h"], p["pid"], run_id)
    assert run["status"] == "succeeded", run
    _exact(all_generations(client, p["h"], p["pid"], run_id), PROMPTS)
    assert _requests(teacher) - before == PROMPTS  # the sample's prompts were not asked again
    assert run["summary"]["rollout"]["generations"] == PROMPTS * N
    assert run["summary"]["rollout"]["smoke"]["decision"] == "continued"
    assert run["summary"]["filter"]["verified"] == PROMPTS * N


@pytest.mark.parametrize("how", ["smoke", "cancel", "cli"])
def test_below_the_floor_then_cancel_asks_nothing_more(
    client, accounts, celery_worker, teacher, tmp_path, how
):
    """Cancelled by the decision route, the plain cancel route or the CLI: each ends the waiting run at
    once, and nothing more is asked of the teacher."""
    p = _project(client, accounts, tmp_path, teacher)
    before = _requests(teacher)
    run_id = _launch(client, p, 0.75)
    _waiting(client, p, run_id)
    base = f"/api/projects/{p['pid']}/runs/{run_id}"
    if how == "cli":
        shown = run_cli("runs", "show", str(run_id))
        said = shown.stdout + shown.stderr
        assert "smoke sample: 4 of 8 attempts accepted (50%; floor 75%): pending" in said, said
        assert f"distillery runs smoke {run_id} --continue" in said and "math wrong" in said, said
        out = run_cli("runs", "smoke", str(run_id), "--cancel")
        assert out.returncode == 0, out.stdout + out.stderr
        again = run_cli("runs", "smoke", str(run_id), "--continue")
        assert again.returncode == 1 and "no smoke sample waiting" in again.stdout + again.stderr
    else:
        path = f"{base}/smoke" if how == "smoke" else f"{base}/cancel"
        r = client.post(path, headers=p["h"], json={"decision": "cancel"} if how == "smoke" else None)
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "cancelled"
    run = client.get(base, headers=p["h"]).json()
    assert run["status"] == "cancelled"
    assert [s["status"] for s in run["stages"]] == ["cancelled", "cancelled"]
    want = "pending" if how == "cancel" else "cancelled"
    assert _rollout(run)["metrics"]["smoke"]["decision"] == want
    assert client.post(f"{base}/smoke", headers=p["h"], json={"decision": "continue"}).status_code == 409
    assert _requests(teacher) - before == SAMPLE
    _exact(all_generations(client, p["h"], p["pid"], run_id), SAMPLE)
    if how == "smoke":  # re-queued: the sample stands and waits for a decision again; continue ends it
        assert client.post(f"{base}/requeue", headers=p["h"]).status_code == 202
        _waiting(client, p, run_id)
        assert client.post(f"{base}/smoke", headers=p["h"], json={"decision": "continue"}).status_code == 202
        assert wait_run(client, p["h"], p["pid"], run_id)["status"] == "succeeded"
        assert _requests(teacher) - before == PROMPTS
        _exact(all_generations(client, p["h"], p["pid"], run_id), PROMPTS)


@pytest.mark.parametrize(
    ("stages", "rollout", "says"),
    [
        (["rollout"], {}, "add 'filter' to stages"),
        (["rollout", "filter"], {"mode": "batch"}, "use mode online"),
        (["rollout", "filter"], {"stop_when_verified": 1}, "not with adaptive sampling"),
    ],
)
def test_smoke_needs_the_filter_and_online_sampling(client, accounts, stages, rollout, says):
    owner = accounts.user()
    pid = accounts.project(owner)
    recipe = {"prompt_set_id": 1, "teacher_id": 1, "stages": stages,
              "rollout": {"smoke": {"prompts": 2, "min_accept": 0.5}, **rollout}}  # fmt: skip
    r = client.post(
        f"/api/projects/{pid}/runs", headers=owner["headers"], json={"name": "s", "recipe": recipe}
    )
    assert r.status_code == 422, r.text
    field = r.json()["error"]["fields"][0]
    assert "rollout.smoke: " in field["message"] and says in field["message"], field
    bad = {**recipe, "stages": ["rollout", "filter"], "rollout": {"smoke": {"prompts": 0, "min_accept": 1.5}}}
    r = client.post(f"/api/projects/{pid}/runs", headers=owner["headers"], json={"name": "s", "recipe": bad})
    assert r.status_code == 422
    paths = {f["path"] for f in r.json()["error"]["fields"]}
    assert {"body.recipe.rollout.smoke.prompts", "body.recipe.rollout.smoke.min_accept"} <= paths, paths


def test_the_estimate_names_the_smoke_sample(client, accounts, teacher, tmp_path):
    p = _project(client, accounts, tmp_path, teacher)
    prices = {"price_input_per_m": 1.0, "price_output_per_m": 2.0}
    r = client.patch(
        f"/api/projects/{p['pid']}/teachers/{p['tid']}", headers=p["h"], json={"settings": prices}
    )
    assert r.status_code == 200, r.text
    smoke = {"prompts": SAMPLE, "min_accept": 0.5}
    recipe = {"prompt_set_id": p["pset"], "teacher_id": p["tid"], "stages": ["rollout", "filter"],
              "rollout": {"n": N, "max_tokens": 64, "smoke": smoke}}  # fmt: skip
    r = client.post(f"/api/projects/{p['pid']}/runs/estimate", headers=p["h"], json={"recipe": recipe})
    assert r.status_code == 200, r.text
    est = r.json()
    said = next(b for b in est["basis"] if b.startswith("smoke: "))
    share = est["cost_usd"] * SAMPLE / PROMPTS
    assert said.startswith(f"smoke: {SAMPLE} prompts ({SAMPLE * N} attempts) first, about ${share:.4f}"), said
    assert "above 0.5 acceptance" in said


def test_a_failed_request_is_no_verdict_in_the_samples_acceptance(accounts):
    """Acceptance is over the answered attempts: a provider's failures neither pull the sample under its
    floor nor pass it; with nothing answered, nothing is measured and people decide."""
    from backend.core.db import session_scope
    from backend.rollouts.smoke import result
    from tests.support.factories import make_generations, make_prompt_set, make_run

    pid = accounts.project(accounts.user())
    pset = make_prompt_set(pid, n=4)
    with session_scope() as s:
        run = make_run(s, project_id=pid, prompt_set_id=pset, stages={"rollout": "running"}, status="running")
        failed = {"status": "failed", "content": None, "error": "http 503 after 6 tries"}
        # prompts 0 and 1 answered (one right, one wrong), prompts 2 and 3 failed at the teacher
        gids = make_generations(s, run, each=lambda k: {"accepted": k == 0} if k < 2 else failed)
        prompts = sorted({g.prompt_id for g in s.scalars(select(Generation).where(Generation.id.in_(gids)))})
        got = result(s, run_id=run.id, prompt_ids=prompts, min_accept=0.5)
        assert (got["attempts"], got["accepted"], got["acceptance"], got["decision"]) == (4, 1, 0.5, "passed")
        assert result(s, run_id=run.id, prompt_ids=prompts, min_accept=0.6)["decision"] == "pending"
        none = [p for p, k in zip(prompts, range(4), strict=True) if k >= 2]  # only the failed ones
        nothing = result(s, run_id=run.id, prompt_ids=none, min_accept=0.0)
        assert (nothing["acceptance"], nothing["decision"]) == (0.0, "pending")
