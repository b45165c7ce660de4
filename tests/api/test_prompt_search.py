"""Prompt text search off the import's path (backend/prompts/search.py): an import through the real
worker queues the prompt_search_index job, which fills prompt_search and marks the set; the sample
browser's `q` then reads prompt_search, and before that scans prompts with the same results. The job is
idempotent, chunked and stops at a cancel; deleting a set deletes its search rows."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update

from tests.support.factories import make_generations, make_run
from tests.support.prompts import seed_prompt_set, write_jsonl
from tests.support.waiting import wait_job

TEXTS = [
    "How many apples does Ann have?",
    "Integrate x^2 from 0 to 1",
    "What is 50% of 80?",
    "Find the area of a circle, radius 2",
    "How many marbles_left are in the bag?",
    "apples and pears: how many fruits?",
    "Solve x + 1 = 3",
]
QUERIES = {  # q -> the prompts (by index) it must find; ILIKE is case-insensitive, % and _ are literal
    "apples": {0, 5},
    "HOW MANY": {0, 4, 5},
    "50%": {2},
    "marbles_": {4},
    "circle, radius": {3},
    "not in any prompt": set(),
}


def _count(sql: str, **params) -> int:
    from backend.core.db import session_scope

    with session_scope() as s:
        return s.execute(text(sql), params).scalar_one()


def _run_over(project_id: int, pset: int) -> tuple[int, dict[int, int]]:
    """A run on the set with one generation a prompt; returns the run and prompt index -> generation id."""
    from backend.core.db import session_scope

    with session_scope() as s:
        run = make_run(s, project_id=project_id, prompt_set_id=pset, status="pending")
        return run.id, dict(enumerate(make_generations(s, run)))


def _found(client, headers, project_id: int, run_id: int, q: str) -> set[int]:
    url = f"/api/projects/{project_id}/runs/{run_id}/generations"
    r = client.get(url, headers=headers, params={"q": q, "limit": 100})
    assert r.status_code == 200, r.text
    return {row["id"] for row in r.json()["items"]}


def _expected(by_index: dict[int, int], q: str) -> set[int]:
    return {by_index[i] for i in QUERIES[q]}


def test_import_queues_indexing_and_search_reads_the_index(client, accounts, importer, tmp_path):
    from backend.core.db import session_scope
    from backend.prompts.models import PromptSet
    from backend.prompts.search import search_ready

    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    job = importer(h, pid, write_jsonl(tmp_path / "p.jsonl", [{"prompt": t} for t in TEXTS]))
    assert job["status"] == "succeeded", job
    pset = job["result"]["prompt_set"]["id"]
    search_job = wait_job(client, h, pid, job["result"]["search_job_id"])
    assert search_job["kind"] == "prompt_search_index" and search_job["status"] == "succeeded", search_job
    assert search_job["progress_done"] == search_job["progress_total"] == len(TEXTS)
    assert search_job["result"]["prompts"] == len(TEXTS) and search_job["result"]["gone"] is False
    assert client.get(f"/api/projects/{pid}/prompt-sets/{pset}", headers=h).json()["search_indexed_at"]
    assert _count("SELECT count(*) FROM prompt_search WHERE prompt_set_id = :s", s=pset) == len(TEXTS)
    with session_scope() as s:
        assert search_ready(s, pset)

    run_id, by_index = _run_over(pid, pset)
    for q in QUERIES:
        assert _found(client, h, pid, run_id, q) == _expected(by_index, q), q

    # The route reads prompt_search, not prompts: a word only the search copy holds is found ...
    _count(
        "WITH u AS (UPDATE prompt_search SET text = text || ' zebra' WHERE prompt_id = "
        "(SELECT prompt_id FROM prompt_search WHERE prompt_set_id = :s AND text LIKE 'Solve%') "
        "RETURNING 1) SELECT count(*) FROM u",
        s=pset,
    )
    assert _found(client, h, pid, run_id, "zebra") == {by_index[6]}
    # ... and, once the set counts as not indexed, the fallback scan of prompts does not see it.
    with session_scope() as s:
        s.execute(update(PromptSet).where(PromptSet.id == pset).values(search_indexed_at=None))
    assert _found(client, h, pid, run_id, "zebra") == set()
    assert _found(client, h, pid, run_id, "apples") == _expected(by_index, "apples")


def test_before_indexing_the_fallback_finds_the_same(client, accounts, celery_worker, tmp_path):
    from backend.prompts.search import queue_indexing

    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    # In-process, as the CLI and seeds do: no job yet, so the set is not indexed.
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "p.jsonl", [{"prompt": t} for t in TEXTS]))
    got = client.get(f"/api/projects/{pid}/prompt-sets/{pset}", headers=h).json()
    assert got["search_indexed_at"] is None
    run_id, by_index = _run_over(pid, pset)
    before = {q: _found(client, h, pid, run_id, q) for q in QUERIES}
    assert before == {q: _expected(by_index, q) for q in QUERIES}

    job_id = queue_indexing(project_id=pid, prompt_set_id=pset, user_id=owner["id"])
    assert wait_job(client, h, pid, job_id)["status"] == "succeeded"
    assert client.get(f"/api/projects/{pid}/prompt-sets/{pset}", headers=h).json()["search_indexed_at"]
    assert {q: _found(client, h, pid, run_id, q) for q in QUERIES} == before


def test_derived_version_is_indexed_too(client, accounts, importer, tmp_path):
    owner = accounts.user()
    pid = accounts.project(owner)
    h = owner["headers"]
    rows = [{"prompt": t} for t in TEXTS] + [{"prompt": TEXTS[0].upper()}]
    job = importer(h, pid, write_jsonl(tmp_path / "p.jsonl", rows), options='{"dedup_exact": false}')
    src = job["result"]["prompt_set"]["id"]
    r = client.post(f"/api/projects/{pid}/prompt-sets/{src}/versions", headers=h, json={"dedup_exact": True})
    assert r.status_code == 202, r.text
    derived = wait_job(client, h, pid, r.json()["id"])
    assert derived["status"] == "succeeded", derived
    new = derived["result"]["prompt_set"]["id"]
    search_job = wait_job(client, h, pid, derived["result"]["search_job_id"])
    assert search_job["status"] == "succeeded" and search_job["result"]["prompts"] == len(TEXTS)
    assert _count("SELECT count(*) FROM prompt_search WHERE prompt_set_id = :s", s=new) == len(TEXTS)


def test_indexing_is_chunked_idempotent_and_stops_at_a_cancel(accounts, tmp_path):
    from backend.core.db import session_scope
    from backend.prompts.models import PromptSearch, PromptSet
    from backend.prompts.search import index_prompt_set
    from workers.progress import Cancelled

    owner = accounts.user()
    pid = accounts.project(owner)
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / "p.jsonl", [{"prompt": t} for t in TEXTS]))

    def cancel_after_first(done: int, total: int) -> None:
        if done:
            raise Cancelled()

    with pytest.raises(Cancelled):
        index_prompt_set(pset, on_progress=cancel_after_first, chunk=3)
    with session_scope() as s:
        assert s.scalar(select(func.count()).where(PromptSearch.prompt_set_id == pset)) == 3
        assert s.get(PromptSet, pset).search_indexed_at is None  # a cancelled set stays on the fallback

    seen: list[tuple[int, int]] = []
    out = index_prompt_set(pset, on_progress=lambda d, t: seen.append((d, t)), chunk=3)
    assert out == {"prompts": len(TEXTS), "chunks": 3, "gone": False}
    assert seen == [(0, 7), (3, 7), (6, 7), (7, 7)]
    assert index_prompt_set(pset, chunk=2)["prompts"] == len(TEXTS)  # a retry copies nothing twice
    with session_scope() as s:
        rows = s.execute(select(PromptSearch.prompt_id, PromptSearch.text).where(
            PromptSearch.prompt_set_id == pset)).all()  # fmt: skip
        assert len(rows) == len({r.prompt_id for r in rows}) == len(TEXTS)
        assert sorted(r.text for r in rows) == sorted(TEXTS)
        assert s.get(PromptSet, pset).search_indexed_at is not None

    assert index_prompt_set(10**9) == {"prompts": 0, "gone": True}  # a set deleted before the job ran


def test_deleting_a_prompt_set_deletes_its_search_rows(accounts, tmp_path):
    from backend.core.db import session_scope
    from backend.prompts.models import PromptSet
    from backend.prompts.search import index_prompt_set

    owner = accounts.user()
    pid = accounts.project(owner)
    keep = seed_prompt_set(pid, write_jsonl(tmp_path / "a.jsonl", [{"prompt": t} for t in TEXTS]), "a")
    gone = seed_prompt_set(pid, write_jsonl(tmp_path / "b.jsonl", [{"prompt": t} for t in TEXTS]), "b")
    for pset in (keep, gone):
        index_prompt_set(pset)
    with session_scope() as s:
        s.delete(s.get(PromptSet, gone))
    assert _count("SELECT count(*) FROM prompt_search WHERE prompt_set_id = :s", s=gone) == 0
    assert _count("SELECT count(*) FROM prompts WHERE prompt_set_id = :s", s=gone) == 0
    assert _count("SELECT count(*) FROM prompt_search WHERE prompt_set_id = :s", s=keep) == len(TEXTS)
