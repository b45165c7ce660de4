"""The per-prompt evaluation comparison the dashboard's evaluation page reads: every model's answers to
a prompt side by side, the "student fails, teacher passes" filter, keyset pages, role checks."""

from __future__ import annotations

from sqlalchemy import insert

from tests.support.env import unique
from tests.support.factories import make_run, prompt_ids
from tests.support.prompts import seed_prompt_set, write_jsonl

# 2: everyone fails; 3: student fails, teacher passes; 4: base fails only
OUTCOMES = [(1, 1, 1), (0, 0, 1), (0, 0, 0), (1, 0, 1), (0, 1, 1)]


def _evaluated_run(pid: int, tmp_path) -> tuple[int, list[int]]:
    from backend.core.db import session_scope
    from backend.evals.models import EvalSample, Evaluation

    rows = [{"prompt": f"What is {i} + {i}?", "reference": str(2 * i)} for i in range(len(OUTCOMES))]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('e')}.jsonl", rows))
    with session_scope() as s:
        run = make_run(s, project_id=pid, prompt_set_id=pset, status="succeeded", recipe={})
        prompts = prompt_ids(s, pset)
        for m, role in enumerate(["base", "student", "teacher"]):
            ev = Evaluation(project_id=pid, run_id=run.id, label=role, model=f"m-{role}", role=role,
                            prompt_set_id=pset, verifier="math")  # fmt: skip
            s.add(ev)
            s.flush()
            s.execute(insert(EvalSample), [
                {"evaluation_id": ev.id, "prompt_id": p, "sample": 0, "content": f"{role} says {i}",
                 "answer": str(2 * i if OUTCOMES[i][m] else -1), "status": "ok",
                 "passed": bool(OUTCOMES[i][m])}
                for i, p in enumerate(prompts)
            ])  # fmt: skip
        return run.id, prompts


def test_compare_side_by_side_filter_and_pages(client, accounts, tmp_path):
    owner, viewer, stranger = accounts.user(), accounts.user(), accounts.user()
    pid = accounts.project(owner, viewer=viewer)
    rid, prompts = _evaluated_run(pid, tmp_path)
    url = f"/api/projects/{pid}/runs/{rid}/evaluations/by-prompt"
    h = viewer["headers"]

    page = client.get(url, headers=h).json()
    assert [r["prompt_id"] for r in page["items"]] == prompts and page["next_cursor"] is None
    first = page["items"][1]
    assert first["text"] == "What is 1 + 1?" and first["reference"] == "2"
    assert [(m["role"], m["passed"]) for m in first["models"]] == [
        ("base", 0),
        ("student", 0),
        ("teacher", 1),
    ]
    assert first["models"][2]["samples"][0]["content"] == "teacher says 1"

    only = client.get(url, headers=h, params={"only": "student_fails_teacher_passes"}).json()["items"]
    assert [r["prompt_id"] for r in only] == [prompts[1], prompts[3]]
    fails = client.get(url, headers=h, params={"only": "student_fails"}).json()["items"]
    assert [r["prompt_id"] for r in fails] == [prompts[1], prompts[2], prompts[3]]

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get(url, headers=h, params=params).json()
        seen += [r["prompt_id"] for r in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == prompts  # nothing skipped or repeated

    assert client.get(url, headers=stranger["headers"]).status_code == 404
    assert client.get(url, headers=h, params={"only": "nope"}).status_code == 422
    assert client.get(url, headers=h, params={"cursor": "garbage"}).status_code == 422
    from backend.core.pagination import encode_cursor

    empty = client.get(url, headers=h, params={"cursor": encode_cursor(prompts[-1])}).json()
    assert empty == {"items": [], "next_cursor": None}
