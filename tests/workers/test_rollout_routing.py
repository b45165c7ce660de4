"""Several teachers routed by prompt (rollout.teachers), through the API and a real Celery worker: two
FAKE OpenAI-compatible teachers that answer differently; every prompt's attempts come from its routed
teacher (its text, its teacher_id, and each server's request count), the counts per teacher are exact
on the rollout's summary, the snapshot's teacher_id column and its card, over several chunks."""

from __future__ import annotations

import io
from collections import Counter

import httpx
import pyarrow.parquet as pq
import pytest

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, run_cli, unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.rollouts import all_generations
from tests.support.teachers import openai_teacher
from tests.support.waiting import wait_run

N = 2


@pytest.fixture(scope="module")
def two_teachers():
    """Two fake servers: one ends every answer 'Answer: alpha', the other 'Answer: beta'."""
    procs, urls = [], []
    for word in ("alpha", "beta"):
        port = free_port()
        procs.append(
            start_fake_server(
                port, "--answers", word, "--answer-bytes", "120", log_path=DATA_DIR / f"fake-{word}.log"
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    yield urls
    for p in procs:
        stop_fake_server(p)


def _rows() -> list[dict]:
    """14 prompts: 4 tagged math, 3 of domain code (metadata), 1 tagged math and of domain code (the first
    route wins), 6 plain, one of which has domain 'prose'."""
    rows = [{"prompt": f"math question {i}", "tags": ["math", "easy"]} for i in range(4)]
    rows += [{"prompt": f"code question {i}", "domain": "code"} for i in range(3)]
    rows += [{"prompt": "both math and code", "tags": "math", "domain": "code"}]
    rows += [{"prompt": f"plain question {i}"} for i in range(5)]
    rows += [{"prompt": "an essay", "domain": "prose"}]
    return rows


def test_each_prompt_goes_to_its_routed_teacher(client, accounts, celery_worker, two_teachers, tmp_path):
    alpha_url, beta_url = two_teachers
    owner = accounts.user()
    pid, h = accounts.project(owner), owner["headers"]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('p')}.jsonl", _rows()))
    alpha = openai_teacher(client, h, pid, "alpha", f"{alpha_url}/v1", price_output_per_m=1.0)
    beta = openai_teacher(client, h, pid, "beta", f"{beta_url}/v1", price_output_per_m=1000.0)
    before = [httpx.get(f"{u}/stats").json()["requests"] for u in two_teachers]
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": alpha,  # the default route
        "stages": ["rollout", "filter", "snapshot"],
        "rollout": {
            "n": N,
            "max_tokens": 64,
            "chunk_size": 3,  # five chunks, each mixing both teachers' prompts
            "use_cache": False,
            "teachers": [
                {"match": {"tag": "math"}, "teacher_id": beta},
                {"match": {"field": "metadata.domain", "equals": "code"}, "teacher_id": beta},
            ],
        },
        "filter": {
            "verifiers": {
                "verifiers": [
                    {"name": "regex", "settings": {"pattern": "(alpha|beta)", "target": "completion"}}
                ]
            }
        },
        "snapshot": {"include": "all", "drop_near_duplicates": False},
    }
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("route"), "recipe": recipe})
    assert r.status_code == 202, r.text
    run = wait_run(client, h, pid, r.json()["id"], timeout=180)
    assert run["status"] == "succeeded", [(s["kind"], s["status"], s.get("error")) for s in run["stages"]]

    prompts = {p["id"]: p for p in _prompts(client, h, pid, pset)}
    routed = {i for i, p in prompts.items() if p["text"].startswith(("math", "code", "both"))}
    assert len(routed) == 8 and len(prompts) == 14
    gens = all_generations(client, h, pid, run["id"])
    assert len(gens) == 14 * N and all(g["status"] == "ok" for g in gens)
    for g in gens:
        want, word = (beta, "beta") if g["prompt_id"] in routed else (alpha, "alpha")
        assert g["teacher_id"] == want, (prompts[g["prompt_id"]], g)
        assert g["content"].rstrip().endswith(f"Answer: {word}"), g["content"]
    # each server was asked exactly for its prompts' attempts (one request per prompt: n choices)
    after = [httpx.get(f"{u}/stats").json()["requests"] for u in two_teachers]
    assert [a - b for a, b in zip(after, before, strict=True)] == [6, 8]

    summary = run["summary"]["rollout"]
    assert summary["teachers"] == {str(alpha): 6 * N, str(beta): 8 * N}
    # each teacher's tokens at its own price: beta's thousandfold price dominates the cost
    out_beta = sum(g["completion_tokens"] for g in gens if g["teacher_id"] == beta)
    out_alpha = sum(g["completion_tokens"] for g in gens if g["teacher_id"] == alpha)
    assert summary["cost_usd"] == pytest.approx((out_beta * 1000.0 + out_alpha * 1.0) / 1e6, rel=1e-6)

    snaps = client.get(f"/api/projects/{pid}/snapshots", headers=h, params={"run_id": run["id"]}).json()
    snap = snaps["items"][0]
    by_teacher = {t["teacher_id"]: (t["name"], t["prompts"], t["rows"]) for t in snap["teachers"]}
    assert by_teacher == {beta: ("beta", 8, 8 * N), alpha: ("alpha", 6, 6 * N)}
    assert "teachers" not in snap["row_counts"]
    base = f"/api/projects/{pid}/snapshots/{snap['id']}"
    table = pq.read_table(io.BytesIO(client.get(f"{base}/files/messages.parquet", headers=h).content))
    rows = table.select(["prompt_id", "teacher_id"]).to_pylist()
    assert Counter(r["teacher_id"] for r in rows) == {alpha: 6 * N, beta: 8 * N}
    assert all((r["teacher_id"] == beta) == (r["prompt_id"] in routed) for r in rows)
    card = client.get(f"{base}/card", headers=h).text
    assert f"beta (id {beta}, `beta`): 8 prompts, {8 * N} rows" in card
    assert f"alpha (id {alpha}, `alpha`): 6 prompts, {6 * N} rows" in card

    # the CLI shows the same counts (runs show: the rollout's attempts, the snapshot's prompts and rows)
    shown = run_cli("runs", "show", str(run["id"]))
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout + shown.stderr  # the console writes to stderr
    assert f"alpha (id {alpha}): {6 * N} attempts" in out and f"beta (id {beta}): {8 * N} attempts" in out
    assert f"beta (id {beta}): 8 prompts, {8 * N} rows" in out
    assert f"alpha (id {alpha}): 6 prompts, {6 * N} rows" in out


def _prompts(client, h, pid, pset) -> list[dict]:
    out, cursor = [], None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        r = client.get(f"/api/projects/{pid}/prompt-sets/{pset}/prompts", headers=h, params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        out += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return out
