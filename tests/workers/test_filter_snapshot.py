"""rollout -> filter -> snapshot through the API and a real Celery worker on PostgreSQL: verdicts per
attempt, acceptance per verifier, per-prompt pass rates, idempotent re-filtering, selection policies,
and a snapshot whose Parquet files `datasets` loads and whose card the Hub reads."""

from __future__ import annotations

import io
from collections import Counter

import pyarrow.parquet as pq
import pytest

from backend.core.net import free_port
from tests.fakes.fake_openai_server import start_fake_server, stop_fake_server
from tests.support.env import DATA_DIR, unique
from tests.support.prompts import MIXED_ANSWERS, MIXED_PROMPTS, seed_prompt_set, write_jsonl
from tests.support.waiting import wait_run


def _project(client, accounts, tmp_path, teacher_url, rows):
    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('p')}.jsonl", rows))
    body = {"name": "mixed", "backend": "openai_compat", "model": "fake-teacher", "base_url": teacher_url}
    r = client.post(f"/api/projects/{pid}/teachers", headers=h, json=body)
    assert r.status_code == 201, r.text
    return pid, h, pset, r.json()["id"]


def _run(client, h, pid, pset, tid, **snapshot) -> dict:
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": ["rollout", "filter", "snapshot"],
        "rollout": {"n": 4, "max_tokens": 64, "chunk_size": 4, "use_cache": False},
        "filter": {
            "verifiers": {"verifiers": [{"name": "math", "settings": {"timeout_s": 10}}]},
            "chunk_size": 3,
        },
        "snapshot": snapshot,
    }
    r = client.post(f"/api/projects/{pid}/runs", headers=h, json={"name": unique("run"), "recipe": recipe})
    assert r.status_code == 202, r.text
    return wait_run(client, h, pid, r.json()["id"])


def test_rollout_filter_snapshot_end_to_end(client, accounts, tmp_path, teacher_url, celery_worker):
    pid, h, pset, tid = _project(client, accounts, tmp_path, teacher_url, MIXED_PROMPTS)
    run = _run(client, h, pid, pset, tid, max_per_prompt=1, drop_near_duplicates=True)
    assert run["status"] == "succeeded", run
    f = run["summary"]["filter"]
    assert f["verified"] == 40
    assert (f["accepted"], f["rejected"], f["undecided"]) == (18, 18, 4)
    assert f["by_verifier"]["math"]["passed"] == 18 and f["by_verifier"]["math"]["wrong"] == 18
    assert f["by_verifier"]["math"]["reference_unparseable"] == 4
    assert f["prompts"] == 10 and f["prompts_solved"] == 9
    assert f["pass_rate_histogram"]["0.5-0.75"] == 9 and f["pass_rate_histogram"]["0"] == 1
    assert f["acceptance_rate"] == pytest.approx(18 / 40)

    # Each attempt carries its decision; its verdicts say which verifier, version and why.
    page = client.get(
        f"/api/projects/{pid}/runs/{run['id']}/generations", headers=h, params={"accepted": "true"}
    )
    accepted = page.json()["items"]
    assert len(accepted) == 18 and all(g["accepted"] is True for g in accepted)
    # "42" prompts (6) pass on attempts 0 and 2, "7" prompts (3) on attempts 1 and 3
    assert sorted(Counter(g["attempt"] % 2 for g in accepted).items()) == [(0, 12), (1, 6)]
    verdicts = client.get(
        f"/api/projects/{pid}/runs/{run['id']}/generations/{accepted[0]['id']}/verdicts", headers=h
    ).json()
    assert [(v["verifier"], v["verifier_version"], v["status"], v["passed"]) for v in verdicts] == [
        ("math", "1", "passed", True)
    ]

    # The snapshot: attempts 0 and 2 of a prompt are identical, so near-dup removal keeps one of them.
    s = run["summary"]["snapshot"]
    assert s["counts"] == {
        "accepted": 18, "after_cut_reasoning": 18, "after_pass_rate_band": 18, "after_near_duplicates": 9,
        "after_max_per_prompt": 9, "prompts": 9, "preference_pairs": 9, "human_accepted": 0,
        "human_rejected": 0, "human_edits": 0, "excluded_truncated": 0, "excluded_no_answer": 0,
        "excluded_empty": 0, "excluded_edit_rejected": 0, "rejected_cut": 0, "rows_with_reasoning": 9,
    }  # fmt: skip
    snaps = client.get(f"/api/projects/{pid}/snapshots", headers=h, params={"run_id": run["id"]}).json()[
        "items"
    ]
    assert [x["id"] for x in snaps] == [s["snapshot_id"]] and snaps[0]["content_hash"] == s["content_hash"]
    base = f"/api/projects/{pid}/snapshots/{s['snapshot_id']}"
    assert set(snaps[0]["files"]) >= {"messages.parquet", "messages.jsonl", "preference.parquet", "README.md"}

    # Parquet files load with datasets, in the forms TRL reads.
    import datasets

    path = tmp_path / "messages.parquet"
    path.write_bytes(client.get(f"{base}/files/messages.parquet", headers=h).content)
    ds = datasets.load_dataset("parquet", data_files=str(path), split="train")
    assert len(ds) == 9
    turns = ds[0]["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant"]
    assert turns[1]["content"].startswith("<think>") and "</think>" in turns[1]["content"]
    assert "Answer: 42" in turns[1]["content"] or "Answer: 7" in turns[1]["content"]
    pref = pq.read_table(io.BytesIO(client.get(f"{base}/files/preference.parquet", headers=h).content))
    row = pref.to_pylist()[0]
    assert row["chosen"][0]["content"] != row["rejected"][0]["content"]

    card = client.get(f"{base}/card", headers=h).text
    assert card.startswith("---\n") and "config_name: messages" in card and "config_name: preference" in card
    assert "math v1" in card and "| after near duplicates | 9 |" in card
    assert "- form: inline, in 9 of 9 rows: the assistant turn opens with the teacher's reasoning" in card
    assert "left out, never closed" not in card  # nothing was cut
    assert client.get(f"{base}/files/../../etc/passwd", headers=h).status_code == 404
    assert client.get(f"{base}/files/secrets.txt", headers=h).status_code == 404


@pytest.fixture(scope="module")
def cutting_teacher_url():
    """The mixed teacher, but about a third of its requests stop at max_tokens inside the reasoning."""
    port = free_port()
    proc = start_fake_server(
        port, "--answers", MIXED_ANSWERS, "--answer-bytes", "400", "--rate-length", "0.35",
        log_path=DATA_DIR / "fake-cutting.log",
    )  # fmt: skip
    yield f"http://127.0.0.1:{port}/v1"
    stop_fake_server(proc)


def _rows(client, h, pid, snapshot_id, config) -> list[dict]:
    import orjson

    r = client.get(f"/api/projects/{pid}/snapshots/{snapshot_id}/files/{config}.jsonl", headers=h)
    assert r.status_code == 200, r.text
    return [orjson.loads(line) for line in r.content.splitlines()]


@pytest.mark.parametrize("include", ["all", "accepted"])
def test_truncated_traces_are_left_out_and_counted_never_closed(
    client, accounts, tmp_path, cutting_teacher_url, celery_worker, include
):
    from tests.support.rollouts import all_generations

    pid, h, pset, tid = _project(client, accounts, tmp_path, cutting_teacher_url, MIXED_PROMPTS)
    run = _run(client, h, pid, pset, tid, include=include, drop_near_duplicates=False)
    assert run["status"] == "succeeded", run
    gens = {g["id"]: g for g in all_generations(client, h, pid, run["id"])}
    cut = {gid for gid, g in gens.items() if g["truncated"]}
    assert 0 < len(cut) < len(gens)  # the draw cut some prompts' attempts, not all
    s = run["summary"]["snapshot"]
    c = s["counts"]
    candidates = [g for g in gens.values() if include == "all" or g["accepted"]]
    assert c["excluded_truncated"] == sum(g["truncated"] for g in candidates)
    assert c["after_cut_reasoning"] == (
        c["accepted"] - c["excluded_truncated"] - c["excluded_no_answer"] - c["excluded_empty"]
    )
    rejected_cut = sum(g["truncated"] and g["accepted"] is False for g in gens.values())
    assert c["rejected_cut"] == rejected_cut and c["excluded_no_answer"] == 0
    if include == "all":
        assert c["excluded_truncated"] == len(cut)
    else:
        assert rejected_cut > 0  # a cut trace has no answer: the verifier rejects it

    rows = _rows(client, h, pid, s["snapshot_id"], "messages")
    assert len(rows) == c["after_max_per_prompt"] == c["rows_with_reasoning"] > 0
    assert not {r["generation_id"] for r in rows} & cut
    for r in rows:  # every </think> is the teacher's own, with its answer after it
        text = r["messages"][-1]["content"]
        assert text.startswith("<think>") and text.count("</think>") == 1
        assert "Answer: " in text.split("</think>", 1)[1]
    if include == "accepted":
        pairs = _rows(client, h, pid, s["snapshot_id"], "preference")
        assert pairs and not {p["rejected_id"] for p in pairs} & cut
        assert not {p["chosen_id"] for p in pairs} & cut
    card = client.get(f"/api/projects/{pid}/snapshots/{s['snapshot_id']}/card", headers=h).text
    assert (
        f"never closed with a `</think>` the teacher did not write: {c['excluded_truncated']} accepted "
        f"attempts stopped at max_tokens (truncated), 0 with reasoning and no answer after it; "
        f"{rejected_cut} rejected ones"
    ) in card
    assert f"| after cut reasoning | {c['after_cut_reasoning']} |" in card


def test_refiltering_a_chunk_never_duplicates_a_verdict(
    client, accounts, tmp_path, teacher_url, celery_worker
):
    from sqlalchemy import func, select

    from backend.core.db import session_scope
    from backend.runs.models import Run, RunStage, StageChunk
    from backend.samples.models import Verdict
    from workers.stages.filter.chunk import build_job, filter_chunk

    pid, h, pset, tid = _project(client, accounts, tmp_path, teacher_url, MIXED_PROMPTS[:4])
    run = _run(client, h, pid, pset, tid)
    assert run["status"] == "succeeded", run
    stage_id = next(st["id"] for st in run["stages"] if st["kind"] == "filter")

    def state():
        with session_scope() as s:
            n = s.scalar(select(func.count()).select_from(Verdict).where(Verdict.run_id == run["id"]))
            counters = [
                c.counters for c in s.scalars(select(StageChunk).where(StageChunk.stage_id == stage_id))
            ]
            return n, counters

    before = state()
    with session_scope() as s:
        stage = s.get(RunStage, stage_id)
        jobs = [
            build_job(s, chunk, stage, s.get(Run, stage.run_id))
            for chunk in s.scalars(select(StageChunk).where(StageChunk.stage_id == stage_id))
        ]
    for job in jobs:  # a retried or re-queued chunk task: everything has its final verdict already
        filter_chunk(job)
    assert before[0] == 16 and state() == before


def test_a_band_that_keeps_nothing_fails_the_snapshot_with_a_clear_error(
    client, accounts, tmp_path, teacher_url, celery_worker
):
    pid, h, pset, tid = _project(client, accounts, tmp_path, teacher_url, MIXED_PROMPTS[:3])
    run = _run(client, h, pid, pset, tid, pass_rate_band=[0.9, 1.0])
    assert run["status"] == "failed"
    snapshot = next(st for st in run["stages"] if st["kind"] == "snapshot")
    assert "no attempt survived" in snapshot["error"]


def test_adaptive_sampling_stops_a_prompt_at_its_passes_or_failures(
    client, accounts, tmp_path, teacher_url, celery_worker
):
    rows = [
        *({"prompt": f"six times seven ({i})", "reference": "42"} for i in range(3)),
        *({"prompt": f"three plus four ({i})", "reference": "7"} for i in range(2)),
    ]
    pid, h, pset, tid = _project(client, accounts, tmp_path, teacher_url, rows)
    prices = {"price_input_per_m": 1.0, "price_output_per_m": 2.0}
    assert (
        client.patch(f"/api/projects/{pid}/teachers/{tid}", headers=h, json={"settings": prices}).status_code
        == 200
    )
    recipe = {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": ["rollout", "filter"],
        # every round asks for the attempts still wanted; the fake teacher's first choice always says 42
        "rollout": {
            "n": 4,
            "max_tokens": 64,
            "use_cache": False,
            "stop_when_verified": 1,
            "stop_after_failures": 2,
        },
        "filter": {"verifiers": {"verifiers": [{"name": "math"}]}},
    }
    r = client.post(
        f"/api/projects/{pid}/runs", headers=h, json={"name": unique("adaptive"), "recipe": recipe}
    )
    assert r.status_code == 202, r.text
    run = wait_run(client, h, pid, r.json()["id"])
    assert run["status"] == "succeeded", run
    roll, filt = run["summary"]["rollout"], run["summary"]["filter"]
    # "42" prompts: one attempt, passed; "7" prompts: two attempts, both wrong, then stopped
    assert roll["succeeded"] == 3 * 1 + 2 * 2 and roll["attempts_skipped"] == 3 * 3 + 2 * 2
    assert roll["cost_usd"] > 0 and roll["cost_saved_usd"] == pytest.approx(
        roll["cost_usd"] / 7 * 13, rel=1e-3
    )
    assert (filt["verified"], filt["accepted"], filt["rejected"]) == (7, 3, 4)
    stage = next(s for s in run["stages"] if s["kind"] == "rollout")
    assert stage["progress_done"] == stage["progress_total"] == 20


def test_adaptive_sampling_needs_the_filter_stage(client, accounts):
    owner = accounts.user()
    pid = accounts.project(owner)
    recipe = {
        "prompt_set_id": 1,
        "teacher_id": 1,
        "stages": ["rollout"],
        "rollout": {"stop_when_verified": 2},
    }
    r = client.post(
        f"/api/projects/{pid}/runs", headers=owner["headers"], json={"name": "a", "recipe": recipe}
    )
    assert r.status_code == 422
    assert "add 'filter' to stages" in r.json()["error"]["fields"][0]["message"]


HUGE = "9" * 4301  # past Python's 4,300-digit int-string limit


@pytest.fixture(scope="module")
def huge_teacher_url():
    """The mixed teacher, but attempts 1 and 3 answer a number of 4,301 digits."""
    port = free_port()
    proc = start_fake_server(
        port, "--answers", f"42,{HUGE}", "--answer-bytes", "400", log_path=DATA_DIR / "fake-huge.log"
    )
    yield f"http://127.0.0.1:{port}/v1"
    stop_fake_server(proc)


def test_a_huge_number_settles_its_own_attempt_and_the_filter_completes(
    client, accounts, tmp_path, huge_teacher_url, celery_worker
):
    """Issue 23: one number past the int-string limit failed the filter chunk holding it (int() in the
    math verifier's first tier, in the worker's own process); now it is that attempt's verdict alone."""
    prompts = [
        *({"prompt": f"What is six times seven? ({i})", "reference": "42"} for i in range(3)),
        *(
            {"prompt": f"The largest number of 4301 digits ({i})", "reference": f"\\boxed{{{HUGE}}}"}
            for i in range(2)
        ),
        {"prompt": "A third, to 5000 places", "reference": "0." + "3" * 5000},
        {"prompt": "Too long to compare", "reference": "7" * 20_001},
    ]
    pid, h, pset, tid = _project(client, accounts, tmp_path, huge_teacher_url, prompts)
    run = _run(client, h, pid, pset, tid)
    assert run["status"] == "succeeded", run
    f = run["summary"]["filter"]
    assert f["verified"] == 28
    # 42 prompts: attempts 0 and 2 pass; 4301-nines prompts: attempts 1 and 3; the third: none
    assert (f["accepted"], f["rejected"], f["undecided"]) == (10, 14, 4)
    math = f["by_verifier"]["math"]
    assert (math["passed"], math["wrong"], math["reference_unparseable"]) == (10, 14, 4)
    page = client.get(
        f"/api/projects/{pid}/runs/{run['id']}/generations", headers=h, params={"accepted": "true"}
    ).json()["items"]
    assert sorted(Counter(g["attempt"] % 2 for g in page).items()) == [(0, 6), (1, 4)]
