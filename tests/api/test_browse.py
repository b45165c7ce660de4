"""The sample browser's API: every filter, keyset pages both ways with no item skipped or repeated
(many equal scores and one created_at for all: order is by id alone), bad filter values 422 with their
field, the trace view's one-generation route and its role checks."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from tests.support.factories import make_generations, make_run, prompt_ids
from tests.support.prompts import seed_prompt_set, write_jsonl

N_PROMPTS, ATTEMPTS = 12, 3  # 36 generations
TEXTS = [f"Solve 50% of case_{i} {'integral' if i % 3 == 0 else 'sum'}" for i in range(N_PROMPTS)]
SCORES = [1.0, 2.5, 2.5, 4.0, 5.0, 5.0]  # ties on purpose


def _gen(i: int) -> dict:
    """What generation number i (0-based) looks like; expected sets are computed from this."""
    return {
        "prompt": i // ATTEMPTS,
        "attempt": i % ATTEMPTS,
        "accepted": [True, False, None][i % 3],
        "finish_reason": "length" if i % 4 == 0 else "stop",
        "math": [True, False, None, True][i % 4],  # None: no math verdict at all on some
        "score": SCORES[i % len(SCORES)] if i % 5 else None,  # every fifth never judged
    }


@pytest.fixture(scope="module")
def browse(app, tmp_path_factory):
    from fastapi.testclient import TestClient

    from backend.core.db import session_scope
    from backend.samples.models import Generation, Verdict
    from tests.support.accounts import Accounts

    with TestClient(app) as c:
        acc = Accounts(c)
        owner, viewer, stranger = acc.user(), acc.user(), acc.user()
        pid = acc.project(owner, viewer=viewer)
        rows = [{"prompt": t} for t in TEXTS]
        rows[2]["tests"] = ["assert f(2) == 4"]
        path = write_jsonl(tmp_path_factory.mktemp("b") / "p.jsonl", rows)
        pset = seed_prompt_set(pid, path)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    ids: list[int] = []
    with session_scope() as s:
        run = make_run(s, project_id=pid, prompt_set_id=pset, status="pending", name="browse")
        prompts = dict(enumerate(prompt_ids(s, pset)))
        for i in range(N_PROMPTS * ATTEMPTS):
            d = _gen(i)
            g = Generation(
                run_id=run.id,
                prompt_id=prompts[d["prompt"]],
                attempt=d["attempt"],
                content=f"answer {i}",
                reasoning="think " * 3,
                finish_reason=d["finish_reason"],
                accepted=d["accepted"],
                created_at=now,
            )
            s.add(g)
            s.flush()
            ids.append(g.id)
            if i % 4 != 2:
                s.add(Verdict(run_id=run.id, generation_id=g.id, verifier="math", verifier_version="1",
                              status="passed" if d["math"] else "wrong", passed=d["math"]))  # fmt: skip
            if d["score"] is not None:
                s.add(Verdict(run_id=run.id, generation_id=g.id, verifier="judge", verifier_version="r1",
                              status="passed", passed=d["score"] >= 4, score=d["score"],
                              detail={"rationale": f"because {i}"}))  # fmt: skip
        other = make_run(s, project_id=pid, prompt_set_id=pset, status="pending", name="other")
        make_generations(s, other, 1, prompts=[prompts[0]], content="elsewhere", created_at=now)
        run_id, other_id = run.id, other.id
    return {
        "pid": pid,
        "run": run_id,
        "other": other_id,
        "ids": ids,
        "owner": owner["headers"],
        "viewer": viewer["headers"],
        "stranger": stranger["headers"],
    }


def _url(b, suffix=""):
    return f"/api/projects/{b['pid']}/runs/{b['run']}/generations{suffix}"


def _walk_forward(client, b, params, limit=4):
    seen, cursor, pages = [], None, 0
    while True:
        r = client.get(
            _url(b),
            headers=b["viewer"],
            params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [it["id"] for it in body["items"]]
        pages += 1
        assert pages < 100
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, body


def _walk_backward(client, b, params, limit=4):
    r = client.get(_url(b), headers=b["viewer"], params={**params, "limit": limit, "last": "true"})
    body = r.json()
    seen = [it["id"] for it in body["items"]]
    while body["prev_cursor"]:
        r = client.get(
            _url(b), headers=b["viewer"], params={**params, "limit": limit, "cursor": body["prev_cursor"]}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        seen = [it["id"] for it in body["items"]] + seen
    return seen


def _expected(b, keep):
    return [gid for i, gid in enumerate(b["ids"]) if keep(_gen(i), i)]


FILTERS = [
    ({}, lambda d, i: True),
    ({"verdict": "accepted"}, lambda d, i: d["accepted"] is True),
    ({"verdict": "rejected"}, lambda d, i: d["accepted"] is False),
    ({"verdict": "unverified"}, lambda d, i: d["accepted"] is None),
    ({"accepted": "false"}, lambda d, i: d["accepted"] is False),
    ({"finish_reason": "length"}, lambda d, i: d["finish_reason"] == "length"),
    ({"verifier": "math"}, lambda d, i: i % 4 != 2),
    ({"verifier": "math", "verifier_result": "pass"}, lambda d, i: i % 4 != 2 and d["math"] is True),
    ({"verifier": "math", "verifier_result": "fail"}, lambda d, i: i % 4 != 2 and d["math"] is False),
    (
        {"verifier": "judge", "verifier_result": "pass"},
        lambda d, i: d["score"] is not None and d["score"] >= 4,
    ),
    ({"score_min": 2.5, "score_max": 2.5}, lambda d, i: d["score"] == 2.5),
    ({"score_min": 4}, lambda d, i: d["score"] is not None and d["score"] >= 4),
    ({"score_max": 2.5}, lambda d, i: d["score"] is not None and d["score"] <= 2.5),
    ({"q": "INTEGRAL"}, lambda d, i: d["prompt"] % 3 == 0),
    ({"q": "50%"}, lambda d, i: True),
    ({"q": "e_1"}, lambda d, i: d["prompt"] in (1, 10, 11)),  # _ is a literal, not a wildcard
    ({"q": "ase_"}, lambda d, i: True),
    ({"q": "0% of"}, lambda d, i: True),
    ({"q": "nowhere at all"}, lambda d, i: False),
    (
        {"verdict": "accepted", "finish_reason": "length", "score_min": 1},
        lambda d, i: d["accepted"] is True and d["finish_reason"] == "length" and d["score"] is not None,
    ),
]


@pytest.mark.parametrize(("params", "keep"), FILTERS, ids=[str(p) for p, _ in FILTERS])
def test_each_filter_pages_forward_and_backward_without_gaps_or_repeats(client, browse, params, keep):
    want = _expected(browse, keep)
    forward, _ = _walk_forward(client, browse, params)
    assert forward == want
    assert _walk_backward(client, browse, params) == want
    if len(want) > 8:  # a page's prev_cursor gives exactly the page before it
        first = client.get(_url(browse), headers=browse["viewer"], params={**params, "limit": 4}).json()
        second = client.get(
            _url(browse),
            headers=browse["viewer"],
            params={**params, "limit": 4, "cursor": first["next_cursor"]},
        ).json()
        back = client.get(
            _url(browse),
            headers=browse["viewer"],
            params={**params, "limit": 4, "cursor": second["prev_cursor"]},
        ).json()
        assert [it["id"] for it in back["items"]] == [it["id"] for it in first["items"]]
        assert first["prev_cursor"] is None and back["prev_cursor"] is None


def test_rows_carry_the_judge_score_and_the_prompt_preview(client, browse):
    body = client.get(_url(browse), headers=browse["viewer"], params={"limit": 6}).json()
    for i, it in enumerate(body["items"]):
        d = _gen(i)
        assert it["judge_score"] == d["score"]
        assert it["prompt_preview"] == TEXTS[d["prompt"]]
        assert it["truncated"] is (d["finish_reason"] == "length")
        assert it["run_id"] == browse["run"]


def test_lists_may_leave_the_reasoning_out(client, browse):
    full = client.get(_url(browse), headers=browse["viewer"], params={"limit": 3}).json()["items"]
    brief = client.get(
        _url(browse), headers=browse["viewer"], params={"limit": 3, "reasoning": "false"}
    ).json()
    assert [it["reasoning"] for it in full] == ["think " * 3] * 3
    assert [it["reasoning"] for it in brief["items"]] == [None] * 3
    assert [it["content"] for it in brief["items"]] == [it["content"] for it in full]


def test_last_page_and_an_empty_filter(client, browse):
    body = client.get(_url(browse), headers=browse["viewer"], params={"limit": 5, "last": "true"}).json()
    assert [it["id"] for it in body["items"]] == browse["ids"][-5:]
    assert body["next_cursor"] is None and body["prev_cursor"] is not None
    empty = client.get(_url(browse), headers=browse["viewer"], params={"q": "no such words"}).json()
    assert empty == {"items": [], "next_cursor": None, "prev_cursor": None}


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"verdict": "maybe"}, "verdict"),
        ({"verifier_result": "pass"}, "verifier"),
        ({"verifier": "math", "verifier_result": "yes"}, "verifier_result"),
        ({"verifier": "no spaces allowed"}, "verifier"),
        ({"score_min": 5, "score_max": 1}, "score_min"),
        ({"score_min": "nan"}, "score_min"),
        ({"score_max": "inf"}, "score_max"),
        ({"score_min": "high"}, "score_min"),
        ({"q": "ab"}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"finish_reason": "Stop!"}, "finish_reason"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": _cursor("z:5")}, "cursor"),
        ({"cursor": _cursor("a:-1")}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"last": "perhaps"}, "last"),
        ({"accepted": "sometimes"}, "accepted"),
    ],
)
def test_bad_filter_values_are_422_with_the_field(client, browse, params, field):
    r = client.get(_url(browse), headers=browse["viewer"], params=params)
    assert r.status_code == 422, r.text
    paths = [f["path"] for f in r.json()["error"]["fields"]]
    assert f"query.{field}" in paths, r.json()


def test_trace_view_route_returns_prompt_reference_and_verdicts(client, browse):
    gid = browse["ids"][7]  # prompt 2; math: 7 % 4 == 3 -> passed; judge: SCORES[7 % 6] == 2.5
    r = client.get(_url(browse, f"/{gid}"), headers=browse["viewer"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["generation"]["id"] == gid and body["generation"]["content"] == "answer 7"
    assert body["prompt"]["text"] == TEXTS[2]
    assert body["prompt"]["tests"] == ["assert f(2) == 4"]  # what the code verifier checks, for the view
    other = client.get(_url(browse, f"/{browse['ids'][0]}"), headers=browse["viewer"]).json()
    assert other["prompt"]["tests"] is None
    by_name = {v["verifier"]: v for v in body["verdicts"]}
    assert by_name["math"]["passed"] is True
    assert by_name["judge"]["score"] == 2.5 and by_name["judge"]["detail"]["rationale"] == "because 7"


def test_trace_view_route_checks_role_and_run(client, browse):
    gid = browse["ids"][0]
    assert client.get(_url(browse, f"/{gid}"), headers=browse["stranger"]).status_code == 404
    assert client.get(_url(browse), headers=browse["stranger"]).status_code == 404
    assert client.get(_url(browse, f"/{gid}")).status_code == 401
    # a generation of another run of the same project is not this run's
    other = client.get(
        f"/api/projects/{browse['pid']}/runs/{browse['other']}/generations", headers=browse["viewer"]
    ).json()["items"][0]["id"]
    assert client.get(_url(browse, f"/{other}"), headers=browse["viewer"]).status_code == 404
    assert client.get(_url(browse, "/0"), headers=browse["viewer"]).status_code == 422
