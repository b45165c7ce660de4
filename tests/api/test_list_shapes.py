"""The runs list and a generations page as the dashboard reads them (issue 24 item 8): each runs-list item
has exactly RunListItem's fields (partly_failed read from the summary, the full run on GET .../runs/{id}),
what both routes serialise by hand (backend/api/json_body.py) is what their response models would
write, the status filter and keyset pages still work, and a request runs the same SQL statements
whatever the number of runs or generations."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.support.prompts import seed_prompt_set, write_jsonl

NOTE = "2 of 6 attempts failed (http 500: 2)"
STATUSES = ["succeeded", "failed", "succeeded", "running", "queued", "succeeded", "cancelled"]


def _seed_runs(pid: int, pset: int, n: int) -> list[int]:
    """n runs of the project (statuses cycling through STATUSES; the first has a partly-failed rollout,
    the second a train summary with a loss curve), oldest first."""
    from backend.core.db import session_scope
    from backend.runs.models import Run, Status

    with session_scope() as s:
        runs = []
        for i in range(n):
            summary: dict = {}
            if i == 0:
                summary = {"rollout": {"generations": 6, "succeeded": 4, "failed": 2, "partly_failed": NOTE}}
            elif i == 1:
                summary = {
                    "train": {"step": 3, "series": [{"step": k, "loss": 1.0 / (k + 1)} for k in range(3)]}
                }
            run = Run(
                project_id=pid,
                name=f"run {i}",
                recipe={"prompt_set_id": pset, "stages": ["profile"]},
                prompt_set_id=pset,
                status=Status(STATUSES[i % len(STATUSES)]),
                summary=summary,
                warnings=["a warning"] if i == 2 else [],
            )
            s.add(run)
            s.flush()
            runs.append(run.id)
    return runs


@pytest.fixture(scope="module")
def lists(app, tmp_path_factory):
    """(owner's headers, project with 7 runs, their ids oldest first, a project with 21 runs, the run
    whose generations are paged, the prompt set)."""
    from fastapi.testclient import TestClient

    from backend.core.db import session_scope
    from backend.prompts.models import Prompt
    from backend.samples.models import Generation, Verdict
    from tests.support.accounts import Accounts

    with TestClient(app) as c:
        acc = Accounts(c)
        owner = acc.user()
        pid, big = acc.project(owner), acc.project(owner)
        path = write_jsonl(
            tmp_path_factory.mktemp("lists") / "p.jsonl", [{"prompt": f"q{i}"} for i in range(4)]
        )
        pset = seed_prompt_set(pid, path)
        big_pset = seed_prompt_set(big, path)
    runs = _seed_runs(pid, pset, len(STATUSES))
    _seed_runs(big, big_pset, 3 * len(STATUSES))
    with session_scope() as s:
        prompts = s.query(Prompt.id).filter(Prompt.prompt_set_id == pset).order_by(Prompt.position).all()
        for i, (prompt_id,) in enumerate(prompts * 3):
            g = Generation(
                run_id=runs[0],
                prompt_id=prompt_id,
                attempt=i // len(prompts),
                content=f"answer {i}",
                reasoning="think",
                finish_reason="length" if i % 2 else "stop",
                accepted=[True, False, None][i % 3],
            )
            s.add(g)
            s.flush()
            if i % 3 == 0:
                s.add(Verdict(run_id=runs[0], generation_id=g.id, verifier="judge", verifier_version="r1",
                              status="passed", passed=True, score=7.5))  # fmt: skip
    return owner["headers"], pid, runs, big, runs[0], pset


def test_each_item_has_the_list_fields_and_is_what_the_model_writes(client, lists):
    from backend.core.pagination import Page
    from backend.runs.schemas import RunListItem

    h, pid, runs, *_ = lists
    r = client.get(f"/api/projects/{pid}/runs", headers=h)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["id"] for i in items] == runs[::-1]  # newest first
    assert all(set(i) == set(RunListItem.model_fields) for i in items)
    assert "recipe" not in items[0] and "summary" not in items[0]
    # the hand-serialised body parses as the declared model and is what that model writes
    page = Page[RunListItem].model_validate_json(r.content)
    assert page.model_dump(mode="json") == r.json()
    by_id = {i["id"]: i for i in items}
    assert by_id[runs[0]]["partly_failed"] == NOTE
    assert [by_id[i]["partly_failed"] for i in runs[1:]] == [None] * (len(runs) - 1)
    assert [by_id[i]["status"] for i in runs] == STATUSES
    assert by_id[runs[0]]["created_at"].endswith("Z")  # UTC, as pydantic writes it
    # the whole run is still one GET away
    full = client.get(f"/api/projects/{pid}/runs/{runs[1]}", headers=h).json()
    assert full["summary"]["train"]["step"] == 3 and full["recipe"]["stages"] == ["profile"]
    assert client.get(f"/api/projects/{pid}/runs/{runs[2]}", headers=h).json()["warnings"] == ["a warning"]


def _all_pages(client, h, url: str, limit: int) -> tuple[list[int], int]:
    ids, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in url else "?"
        r = client.get(f"{url}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""), headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["items"]) <= limit
        ids += [i["id"] for i in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            return ids, pages


def test_status_filter_and_keyset_pages(client, lists):
    h, pid, runs, *_ = lists
    ids, pages = _all_pages(client, h, f"/api/projects/{pid}/runs", 2)
    assert ids == runs[::-1] and pages == 4  # every run once, newest first, 2 a page
    succeeded = [i for i, s in zip(runs, STATUSES, strict=True) if s == "succeeded"]
    ids, pages = _all_pages(client, h, f"/api/projects/{pid}/runs?status=succeeded", 2)
    assert ids == succeeded[::-1] and pages == 2
    r = client.get(f"/api/projects/{pid}/runs?status=succeeded", headers=h).json()
    assert {i["status"] for i in r["items"]} == {"succeeded"} and r["next_cursor"] is None
    assert client.get(f"/api/projects/{pid}/runs?status=pending", headers=h).json() == {
        "items": [],
        "next_cursor": None,
    }


def test_a_generations_page_is_what_its_model_writes(client, lists):
    from backend.samples.schemas import GenerationPage, GenerationRow

    h, pid, _, _, rid, _ = lists
    url = f"/api/projects/{pid}/runs/{rid}/generations"
    for query in (
        "?limit=5",
        "?limit=5&reasoning=false",
        "?limit=100&verdict=accepted",
        "?last=true&limit=3",
    ):
        r = client.get(url + query, headers=h)
        assert r.status_code == 200, r.text
        page = GenerationPage.model_validate_json(r.content)
        assert page.model_dump(mode="json") == r.json()
        assert all(set(i) == set(GenerationRow.model_fields) for i in r.json()["items"])
    items = client.get(url + "?limit=100&reasoning=false", headers=h).json()["items"]
    assert len(items) == 12 and {i["reasoning"] for i in items} == {None}
    assert (
        [i["truncated"] for i in items]
        == [i["finish_reason"] == "length" for i in items]
        == [False, True] * 6
    )
    assert [i["judge_score"] for i in items] == [7.5, None, None] * 4
    assert client.get(url + "?limit=1", headers=h).json()["items"][0]["reasoning"] == "think"


@contextmanager
def _statements():
    """Every SQL statement the app's engine runs inside the block."""
    from backend.core.db import get_engine

    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_runs_list_runs_the_same_statements_whatever_the_number_of_runs(client, lists):
    h, pid, runs, big, rid, _ = lists
    counts = []
    for project, n in ((pid, len(runs)), (big, 3 * len(runs))):
        client.get(f"/api/projects/{project}/runs", headers=h)  # a token's last use may be written once
        with _statements() as seen:
            body = client.get(f"/api/projects/{project}/runs?limit=200", headers=h).json()
        assert len(body["items"]) == n
        counts.append(len([s for s in seen if s.lstrip().upper().startswith("SELECT")]))
    # the token, its user, the project and the caller's role in one; then the page: none per run
    assert counts[0] == counts[1] == 2, counts
    with _statements() as seen:
        client.get(f"/api/projects/{pid}/runs/{rid}/generations?limit=3", headers=h)
        few = len(seen)
    with _statements() as seen:
        client.get(f"/api/projects/{pid}/runs/{rid}/generations?limit=100", headers=h)
    assert len(seen) == few
