"""The judge stage against a misbehaving endpoint (the project's FAKE fault server: 429, 500, hangs past
the timeout, malformed bodies, a prompt it always fails) and against a real tiny model served by
`transformers serve`. A reply without a score is an "unparseable" verdict and a request that failed
every retry an "error" one, never a pass; retried requests are paid once; a second run of the same
requests is answered from the cache and costs nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, unique
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.teachers import RUBRIC, openai_teacher
from tests.support.waiting import wait_run

PROMPTS = [
    {"prompt": "What is six times seven?", "reference": "42"},
    {"prompt": "ALWAYS_FAIL: what is one plus one?", "reference": "2"},  # the judge server always 500s
]
RETRIES = 4


@pytest.fixture(scope="module")
def fault_servers():
    t_port, j_port = free_port(), free_port()
    teacher = start_fake_server(t_port, "--answers", "42,7,9", "--answer-bytes", "200", "--fail-marker",
                                "NONE", log_path=DATA_DIR / "fake-fault-teacher.log")  # fmt: skip
    judge = start_fake_server(
        j_port,
        *("--judge-scores", "42=5,7=1", "--rate-429", "0.25", "--rate-500", "0.25", "--rate-timeout", "0.15"),
        *("--hang-s", "3", "--rate-malformed", "0.5", "--max-faults-per-prompt", "3", "--seed", "3"),
        log_path=DATA_DIR / "fake-fault-judge.log",
    )
    yield f"http://127.0.0.1:{t_port}/v1", f"http://127.0.0.1:{j_port}"
    stop_fake_server(teacher)
    stop_fake_server(judge)


def _run(client, h, pid, pset, tid, jid, n: int, **judge) -> dict:
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": ["rollout", "judge"],
        "rollout": {"n": n, "max_tokens": 64, "chunk_size": 2, "use_cache": False},
        "judge": {"teacher_id": jid, "chunk_size": 2, **judge},
    }
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("run"), "recipe": recipe})
    assert r.status_code == 202, r.text
    run = wait_run(client, h, pid, r.json()["id"], timeout=180)
    assert run["status"] == "succeeded", (run["error"], [s["error"] for s in run["stages"]])
    return run


def _verdicts(run_id: int) -> list[tuple[str, bool | None, float | None, bool | None, str]]:
    """(status, passed, score, the attempt's accepted, its content) of every judge verdict."""
    from backend.core.db import session_scope
    from backend.samples.models import Generation, Verdict

    with session_scope() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(Verdict.status, Verdict.passed, Verdict.score, Generation.accepted, Generation.content)
                .join(Generation, Generation.id == Verdict.generation_id)
                .where(Verdict.run_id == run_id, Verdict.verifier == "judge")
                .order_by(Generation.id)
            )
        ]


def test_judge_through_faults(worker_database, client, accounts, tmp_path, fault_servers):
    import httpx

    from backend.core.db import session_scope
    from backend.judge.models import JudgeCache

    owner = accounts.user()
    pid, h = accounts.project(owner), owner["headers"]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('p')}.jsonl", PROMPTS))
    tid = openai_teacher(client, h, pid, "teacher", fault_servers[0])
    jid = openai_teacher(client, h, pid, "judge", fault_servers[1] + "/v1", price_input_per_m=1.0,
                   price_output_per_m=2.0)  # fmt: skip
    assert client.post(f"/api/projects/{pid}/rubrics", headers=h, json=RUBRIC).status_code == 201
    httpx.post(f"{fault_servers[1]}/stats/reset")
    started = datetime.now(UTC)

    run = _run(client, h, pid, pset, tid, jid, n=3, max_retries=RETRIES, timeout_s=1)
    j = run["summary"]["judge"]
    # prompt 1: "42" scores 5 (accept), "7" scores 1 (reject), "9" gets "I cannot tell." (no score);
    # prompt 2: every request 500s, each attempt's verdict is an error after the retries
    assert (j["judged"], j["accepted"], j["rejected"], j["unparseable"], j["errors"]) == (3, 1, 1, 1, 3)
    rows = _verdicts(run["id"])
    by_answer = {content.rsplit("Answer: ", 1)[-1]: (st, p, sc, acc) for st, p, sc, acc, content in rows[:3]}
    assert by_answer == {
        "42": ("passed", True, 5.0, True),
        "7": ("wrong", False, 1.0, False),
        "9": ("unparseable", None, None, None),  # never a silent pass
    }
    assert [(st, p, acc) for st, p, _, acc, _ in rows[3:]] == [("error", None, None)] * 3

    stats = httpx.get(f"{fault_servers[1]}/stats").json()["faults"]
    assert all(stats[k] for k in ("429", "500", "timeout", "malformed")), stats  # each met and retried
    assert stats["marker"] == 3 * (RETRIES + 1)  # the failing prompt was tried, then given up

    # paid once per reply: the tokens counted are exactly those of the three replies kept
    with session_scope() as s:
        kept = s.execute(
            select(func.count(), func.sum(JudgeCache.prompt_tokens), func.sum(JudgeCache.completion_tokens))
            .where(JudgeCache.created_at >= started)
        ).one()  # fmt: skip
    assert kept[0] == 3 and (j["prompt_tokens"], j["completion_tokens"]) == (kept[1], kept[2])
    assert j["cost_usd"] == pytest.approx((kept[1] * 1.0 + kept[2] * 2.0) / 1e6)

    # the same requests again: the three replies come from the cache, only the failing ones are sent
    before = httpx.get(f"{fault_servers[1]}/stats").json()["requests"]
    again = _run(client, h, pid, pset, tid, jid, n=3, max_retries=RETRIES, timeout_s=1)["summary"]["judge"]
    assert (again["judged"], again["cached"], again["errors"]) == (3, 3, 3)
    assert (again["cost_usd"], again["prompt_tokens"], again["completion_tokens"]) == (0, 0, 0)
    assert httpx.get(f"{fault_servers[1]}/stats").json()["requests"] - before == 3 * (RETRIES + 1)


def test_judge_with_a_real_tiny_model(client, accounts, tmp_path, fault_servers, tiny_server, celery_worker):
    """A real OpenAI-compatible server over a tiny random model: every attempt gets a verdict (the
    JSON-mode request is either taken or refused and retried without it); what the model says is
    noise, so a verdict is a score on the rubric's scale or "unparseable", and only a score at the
    accept threshold passes."""
    base_url, model = tiny_server
    owner = accounts.user()
    pid, h = accounts.project(owner), owner["headers"]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('p')}.jsonl", PROMPTS[:1] * 1))
    tid = openai_teacher(client, h, pid, "teacher", fault_servers[0])
    body = {"name": "tiny-judge", "backend": "openai_compat", "model": model, "base_url": base_url}
    r = client.post(f"/api/projects/{pid}/teachers", headers=h, json=body)
    assert r.status_code == 201, r.text
    assert client.post(f"/api/projects/{pid}/rubrics", headers=h, json=RUBRIC).status_code == 201

    # sampled, not greedy: greedy, this random model answers some judge prompts with newlines only, an
    # empty reply the client retries and then records as an error (no verdict)
    run = _run(client, h, pid, pset, tid, r.json()["id"], n=3, max_tokens=16, timeout_s=60, temperature=1.0)
    j = run["summary"]["judge"]
    assert j["errors"] == 0 and j["judged"] == 3 and j["completion_tokens"] > 0, j
    assert j["accepted"] + j["rejected"] + j["unsure"] + j["unparseable"] == 3
    for status, passed, score, accepted, _ in _verdicts(run["id"]):
        assert status in ("passed", "wrong", "unsure", "unparseable")
        if status == "unparseable":
            assert (passed, score, accepted) == (None, None, None)
        else:
            assert 1 <= score <= 5 and passed == (score >= 5) and accepted == passed
