"""The built dashboard in headless Chromium: log in, open a project, watch a run reach succeeded,
then launch a rollout from the form and see its generations.

Runs against a real uvicorn process on the test PostgreSQL database and the real Celery worker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from backend.core.net import free_port
from tests.support.env import DATA_DIR
from tests.support.models import tiny_model
from tests.support.prompts import seed_prompt_set, write_jsonl

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
EXAMPLE = ROOT / "examples" / "prompts" / "word_problems.jsonl"

pytestmark = pytest.mark.e2e


def test_dashboard_serves_index_for_client_routes(server):
    r = httpx.get(f"{server}/projects/1")
    assert r.status_code == 200 and '<div id="root">' in r.text
    api_404 = httpx.get(f"{server}/api/nope")
    assert api_404.status_code == 404 and api_404.json()["error"]["code"] == "not_found"


def test_login_watch_a_run_and_launch_a_rollout_in_chromium(server, client, accounts, importer, tmp_path):
    assert shutil.which("node"), "node is required for the dashboard test"
    user = accounts.user(password="dashboard-pass-1")
    pid = accounts.project(user)
    h = user["headers"]
    project_name = client.get(f"/api/projects/{pid}", headers=h).json()["name"]
    pset = importer(h, pid, EXAMPLE)["result"]["prompt_set"]
    run = client.post(
        f"/api/projects/{pid}/runs",
        headers=h,
        json={"name": "watched-run", "recipe": {"prompt_set_id": pset["id"]}},
    )
    assert run.status_code == 202
    model = tiny_model()
    teacher = {"name": "tiny-local", "backend": "transformers_local", "model": str(model)}
    assert client.post(f"/api/projects/{pid}/teachers", headers=h, json=teacher).status_code == 201
    shot = tmp_path / "dashboard.png"
    proc = subprocess.run(
        ["node", "e2e/dashboard.mjs"],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=180,
        env={
            **os.environ,
            "BASE_URL": server,
            "E2E_EMAIL": user["email"],
            "E2E_PASSWORD": "dashboard-pass-1",
            "E2E_PROJECT": project_name,
            "E2E_RUN": "watched-run",
            "E2E_SCREENSHOT": str(shot),
            "E2E_LAUNCH_TEACHER": "tiny-local",
        },
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert shot.is_file() and shot.stat().st_size > 1000
    assert "the launched rollout succeeded" in proc.stdout
    runs = client.get(f"/api/projects/{pid}/runs", headers=h).json()["items"]
    listed = next(r for r in runs if r["name"] != "watched-run")
    launched = client.get(f"/api/projects/{pid}/runs/{listed['id']}", headers=h).json()
    assert launched["status"] == "succeeded" and launched["recipe"]["rollout"]["n"] == 1
    assert launched["recipe"]["rollout"]["max_tokens"] == 8


def test_a_write_is_committed_before_its_response_is_sent(server, accounts):
    """Log in and use the token at once, many times: the token row must exist when the answer arrives."""
    from typing import get_args

    from backend.api.deps import SessionDep

    assert get_args(SessionDep)[1].scope == "function"
    user = accounts.user(password="race-pass-123")
    with httpx.Client(base_url=server, timeout=10) as c:
        for _ in range(30):
            token = c.post("/api/auth/login", json={"email": user["email"], "password": "race-pass-123"})
            me = c.get("/api/users/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
            assert me.status_code == 200, me.text


LATEX_PROMPTS = [
    {"prompt": "What is $6 \\times 7$?", "reference": "42"},
    {"prompt": "Compute $\\frac{84}{2}$.", "reference": "42"},
    {"prompt": "What is $3 + 4$?", "reference": "7"},
]
JUDGE_RUBRIC = {
    "template": "Question: {question}\nReference: {reference}\nAnswer: {answer}\n"
    'Reply with JSON {"score": 1-5, "rationale": "..."}.',
    "scale_min": 1,
    "scale_max": 5,
}
ARTIFACTS = ROOT / "tests" / "e2e" / "artifacts"


@pytest.fixture
def fake_endpoints():
    """A fake paid teacher (answers 42 then 7) and a fake judge (42 scores 5, 7 scores 1)."""
    from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server

    t_port, j_port = free_port(), free_port()
    teacher = start_fake_server(t_port, "--answers", "42,7", "--answer-bytes", "300",
                                log_path=DATA_DIR / "fake-e2e-teacher.log")  # fmt: skip
    judge = start_fake_server(j_port, "--judge-scores", "42=5,7=1", log_path=DATA_DIR / "fake-e2e-judge.log")
    yield f"http://127.0.0.1:{t_port}/v1", f"http://127.0.0.1:{j_port}/v1"
    stop_fake_server(teacher)
    stop_fake_server(judge)


def _judged_run(client, h, pid, pset, endpoints, secret) -> int:
    """rollout -> filter -> judge -> review on the fake endpoints; returns the run once review waits."""
    import time

    ids = []
    for name, url in zip(("e2e-teacher", "e2e-judge"), endpoints, strict=True):
        body = {"name": name, "backend": "openai_compat", "model": name, "base_url": url,
                "api_key": secret, "licence": "api_no_compete"}  # fmt: skip
        r = client.post(f"/api/projects/{pid}/teachers", headers=h, json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    assert client.post(f"/api/projects/{pid}/rubrics", headers=h, json=JUDGE_RUBRIC).status_code == 201
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": ids[0],
        "stages": ["rollout", "filter", "judge", "review"],
        "rollout": {"n": 2, "max_tokens": 64, "use_cache": False},
        "filter": {"verifiers": {"verifiers": [{"name": "math", "settings": {"timeout_s": 10}}]}},
        "judge": {"teacher_id": ids[1]},
        # judge rejects routed on purpose: the keyboard step below reviews one
        "review": {
            "audit": {"share": 0, "uncalibrated_share": 0},
            "overlap_share": 0,
            "judge_rejected": {"route": True},
        },  # fmt: skip
    }
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": "judged", "recipe": recipe})
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        run = client.get(f"/api/projects/{pid}/runs/{rid}", headers=h).json()
        review = next(s for s in run["stages"] if s["kind"] == "review")
        if review["status"] == "running":
            return rid
        assert run["status"] not in ("failed", "cancelled"), [s["error"] for s in run["stages"]]
        time.sleep(0.2)
    raise AssertionError(f"the review stage never started: {run}")


def test_every_page_in_chromium(server, client, accounts, celery_worker, fake_endpoints, tmp_path):
    """The whole dashboard (e2e/whole.mjs): log in, see the demo run's training curve drawn while its
    train stage runs, upload a prompt set with a bad row, launch the demo recipe from the wizard and watch
    a run finish live, a train-only and an evaluate-only run launched from the wizard (the demo run's
    snapshot and model) succeed, a trace with LaTeX, a judge-rejected attempt
    reviewed with the keyboard only, the evaluation table, the judge, teachers and members pages; a
    screenshot of every page, light and dark, under tests/e2e/artifacts/; no console error anywhere."""
    import json

    import httpx
    from rich.console import Console

    from backend import demo_flow

    owner = accounts.user(password="whole-dashboard-1", admin=True)  # the users page too
    pid = accounts.project(owner, reviewer=accounts.user(), viewer=accounts.user())
    h = owner["headers"]
    secret = "sk-e2e-never-shown-4f1c"
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "latex.jsonl", LATEX_PROMPTS), name="latex")
    judged = _judged_run(client, h, pid, pset, fake_endpoints, secret)
    gens = client.get(f"/api/projects/{pid}/runs/{judged}/generations", headers=h, params={"limit": 50})
    latex_gen = gens.json()["items"][0]["id"]

    # The demo recipe, small: multiplication prompts, the shipped tiny teacher, SFT of a 10x smaller
    # student and the evaluation against base and teacher. Queued now, watched live by the browser.
    # 60 steps: training lasts several of the page's 2 s polls, so the browser sees the curve grow live
    size = demo_flow.Size(prompts=48, eval_ratio=0.25, attempts=2, keep=1, plain=2, steps=60, eval_prompts=8)
    _, student = demo_flow._task()
    base = student.build(DATA_DIR / "demo" / "student-base")
    with httpx.Client(base_url=server, headers=h, timeout=30) as http:
        api = demo_flow.Api(http)
        demo_set = demo_flow.prompt_set(api, pid, size, DATA_DIR, Console(quiet=True))
        tid = demo_flow.teacher(api, pid)
        recipe = demo_flow.recipe(demo_set["id"], tid, size, "verified", 0, base)
        body = {"name": "demo-e2e", "recipe": recipe}
        evaluated = api("POST", f"/api/projects/{pid}/runs", json=body)["id"]

    bad = tmp_path / "with-a-bad-row.jsonl"
    bad.write_text('{"prompt": "What is 2 + 2?", "reference": "4"}\n{"prompt": \n{"prompt": "3 + 3?"}\n')
    config = {
        "baseUrl": server,
        "email": owner["email"],
        "password": "whole-dashboard-1",
        "projectId": pid,
        "projectName": client.get(f"/api/projects/{pid}", headers=h).json()["name"],
        "artifacts": str(ARTIFACTS),
        "judgeRunId": judged,
        "latexGenerationId": latex_gen,
        "evalRunId": evaluated,
        "promptSetId": demo_set["id"],
        "badPromptFile": str(bad),
        "badPromptLine": 2,
        "demo": {
            "teacherName": "tiny-multiplier",
            "promptSetName": demo_set["name"],
            "studentPath": str(base),
            "evalPrompts": size.eval_prompts,
            "steps": size.steps,
        },
        "teacherSecret": secret,
        "runTimeoutMs": 300_000,
    }
    cfg = tmp_path / "e2e.json"
    cfg.write_text(json.dumps(config))
    env = {**os.environ, "E2E_CONFIG": str(cfg)}
    proc = subprocess.run(
        ["node", "e2e/whole.mjs"], cwd=FRONTEND, capture_output=True, text=True, timeout=900, env=env
    )
    out = proc.stdout + proc.stderr
    line = next((x for x in proc.stdout.splitlines() if x.startswith("E2E-RESULT ")), None)
    assert line, out[-5000:]
    results = json.loads(line.removeprefix("E2E-RESULT "))
    # a failed step carries the page it was on (url and text), so a CI log says what the browser saw
    failed = {
        k: [v.get("error") or v.get("why"), v.get("page")]
        for k, v in results.items()
        if v["status"] != "passed"
    }
    assert not failed, json.dumps(failed, indent=1)[:6000] + "\n" + out[-3000:]  # a skipped step fails too
    assert proc.returncode == 0, out[-3000:]

    live = results["see a training curve before the train stage ends"]["out"]
    assert live["points"] > 0 and live["seen"][-1].startswith("train:running"), live
    done = results["review a judge-rejected attempt with the keyboard only"]["out"]
    assert done["reason"] == "judge_rejected" and done["decided"] == "reject" and done["rationale"]
    log = client.get(f"/api/projects/{pid}/runs/{judged}/review/log", headers=h).json()
    mine = [e["decision"] for e in log if e["generation_id"] == done["generationId"]]
    assert mine == ["reject", "undo", "reject"]
    table = results["read the evaluation table"]["out"]
    assert len(table["rows"]) == size.eval_prompts and all(len(r["passed"]) == 3 for r in table["rows"])
    assert [s[1] for s in table["scores"]] == ["base", "student", "teacher"]
    assert results["teachers page"]["out"]["keys"].count("set") == 2
    shots = sorted(p.name for p in ARTIFACTS.glob("*.png") if not p.name.startswith("FAILED"))
    assert len(shots) >= 28 and "review-dark.png" in shots and "evaluation-light.png" in shots, shots
    assert all((ARTIFACTS / s).stat().st_size > 5000 for s in shots)
