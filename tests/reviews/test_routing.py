"""Routing sends people only what only people can settle (disagreements, an unsure judge) and a random
audit; each reason is switched and capped from the recipe, a reject the verifier and the judge agree on
is not routed by default, and the audit is a uniform draw over every attempt. Pages of the run are read
a keyset page at a time."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.factories import make_generations, make_prompt_set, make_run, make_verdicts

pytestmark = pytest.mark.usefixtures("database")  # review paths on PostgreSQL and SQLite

# what the verifier (None: did not decide or absent) and the judge (status, passed, score) said
CASES = {
    "both_reject": (False, ("wrong", False, 1.0)),
    "disagree": (True, ("wrong", False, 1.0)),
    "unsure": (None, ("unsure", None, 3.0)),
    "agree_accept": (True, ("passed", True, 5.0)),
    "judge_only_reject": (None, ("wrong", False, 1.0)),
    "near": (None, ("passed", True, 4.0)),
}


def _seed(accounts, layout: dict[str, int]) -> tuple[int, dict[str, list[int]]]:
    """A run with layout[case] generations of each case, judged by rubric version 1."""
    from backend.core.db import session_scope

    owner = accounts.user()
    pid = accounts.project(owner)
    n = sum(layout.values())
    pset = make_prompt_set(pid, n=n)
    kinds = [case for case, k in layout.items() for _ in range(k)]
    with session_scope() as s:
        run = make_run(s, project_id=pid, prompt_set_id=pset, stages={"review": "running"}, status="running")
        gids = make_generations(s, run)
        judged = [(g, CASES[c][1]) for g, c in zip(gids, kinds, strict=True)]
        fields = ("status", "passed", "score")
        make_verdicts(s, run, [g for g, _ in judged],
                      each=lambda k: dict(zip(fields, judged[k][1], strict=True)))  # fmt: skip
        checked = [(g, CASES[c][0]) for g, c in zip(gids, kinds, strict=True) if CASES[c][0] is not None]
        make_verdicts(
            s, run, [g for g, _ in checked], verifier="math", each=lambda k: {"passed": checked[k][1]}
        )
        rid = run.id
    by_case: dict[str, list[int]] = {c: [] for c in layout}
    for g, c in zip(gids, kinds, strict=True):
        by_case[c].append(g)
    return rid, by_case


def _route(rid: int, *, accept: float | None = 5.0, calibrated: bool = True, **settings) -> dict[int, str]:
    """Route the run with these review settings; the queue as {generation: reason}."""
    from backend.core.db import session_scope
    from backend.reviews.models import ReviewTask
    from backend.reviews.routing import reason_pages, route
    from backend.reviews.schemas import ReviewSettings

    cfg = ReviewSettings.model_validate({"overlap_share": 0, "audit": {"share": 0}, **settings})
    with session_scope() as s:
        route(s, run_id=rid, settings=cfg, pages=lambda: reason_pages(s, run_id=rid, judge_version="1",
              settings=cfg, calibrated=calibrated, accept=accept))  # fmt: skip
    with session_scope() as s:
        rows = s.execute(select(ReviewTask.generation_id, ReviewTask.reason).where(ReviewTask.run_id == rid))
        return dict(rows.tuples().all())


def _count(queue: dict[int, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for why in queue.values():
        out[why] = out.get(why, 0) + 1
    return out


def test_by_default_only_what_people_must_settle(accounts):
    rid, case = _seed(accounts, {"both_reject": 6, "disagree": 4, "unsure": 3, "agree_accept": 5,
                                 "judge_only_reject": 2, "near": 2})  # fmt: skip
    queue = _route(rid)
    assert _count(queue) == {"disagreement": 4, "judge_unsure": 3}
    assert not set(case["both_reject"]) & set(queue) and not set(case["judge_only_reject"]) & set(queue)


def test_each_reason_switches(accounts):
    layout = {"both_reject": 3, "disagree": 3, "unsure": 3, "judge_only_reject": 2, "near": 2}
    rid, case = _seed(accounts, layout)
    assert _count(_route(rid, disagreement={"route": False})) == {"judge_unsure": 3}
    rid, case = _seed(accounts, layout)
    assert _count(_route(rid, judge_unsure={"route": False})) == {"disagreement": 3}
    rid, case = _seed(accounts, layout)
    queue = _route(rid, judge_rejected={"route": True})
    assert _count(queue) == {"disagreement": 3, "judge_unsure": 3, "judge_rejected": 5}
    assert {g for g, w in queue.items() if w == "judge_rejected"} == set(
        case["both_reject"] + case["judge_only_reject"]
    )
    # near the accept threshold (4 against 4.5, margin 0.5) counts as unsure
    rid, case = _seed(accounts, layout)
    queue = _route(rid, accept=4.5, unsure_margin=0.5)
    assert {g for g, w in queue.items() if w == "judge_unsure"} == set(case["unsure"] + case["near"])


def test_caps_by_count_and_share_keep_a_seeded_subset(accounts):
    layout = {"disagree": 10, "unsure": 10, "agree_accept": 20}
    rid, case = _seed(accounts, layout)
    queue = _route(rid, disagreement={"max_items": 3}, judge_unsure={"max_share": 0.1})  # 10% of 40
    assert _count(queue) == {"disagreement": 3, "judge_unsure": 4}
    assert {g for g, w in queue.items() if w == "disagreement"} <= set(case["disagree"])
    # the tighter of the two caps wins, and a second routing adds nothing twice
    again = _route(rid, disagreement={"max_items": 3}, judge_unsure={"max_share": 0.1})
    assert again == queue
    rid, _ = _seed(accounts, layout)
    assert _count(_route(rid, disagreement={"max_items": 8, "max_share": 0.05})) == {
        "disagreement": 2, "judge_unsure": 10,
    }  # fmt: skip
    # max_items over all reasons fills the most urgent first
    rid, _ = _seed(accounts, layout)
    assert _count(_route(rid, max_items=12)) == {"disagreement": 10, "judge_unsure": 2}


def test_the_audit_is_a_uniform_capped_draw_over_every_attempt(accounts):
    rid, case = _seed(accounts, {"both_reject": 100, "agree_accept": 100})
    queue = _route(rid, audit={"share": 0.5})
    assert set(queue.values()) == {"audit"}
    # whatever the machines said: the audit draws rejects and accepts alike (binomial, 5 sd wide)
    for c in ("both_reject", "agree_accept"):
        assert 15 < len(set(case[c]) & set(queue)) < 85, c
    assert 60 < len(queue) < 140
    rid, _ = _seed(accounts, {"both_reject": 50, "agree_accept": 50})
    assert _count(_route(rid, audit={"share": 0.5, "max_items": 7})) == {"audit": 7}
    # uncalibrated: the larger share; the seed picks the draw
    rid, _ = _seed(accounts, {"agree_accept": 100})
    assert len(_route(rid, calibrated=False, audit={"share": 0, "uncalibrated_share": 1.0})) == 100
    # an audit draw past its cap still goes to review for its own reason
    rid, case = _seed(accounts, {"disagree": 10})
    assert _count(_route(rid, audit={"share": 1.0, "max_items": 4})) == {"audit": 4, "disagreement": 6}


@pytest.mark.pure
def test_recipes_stored_before_the_audit_keep_their_shares():
    from backend.reviews.schemas import ReviewSettings

    old = ReviewSettings.model_validate({"sample_share": 0.1, "uncalibrated_share": 0.3})
    assert (old.audit.share, old.audit.uncalibrated_share) == (0.1, 0.3)
    assert not ReviewSettings().judge_rejected.route and ReviewSettings().disagreement.route


def test_keyset_pages(accounts, monkeypatch):
    from backend.core.db import session_scope
    from backend.reviews import routing
    from backend.reviews.schemas import ReviewSettings

    rid, case = _seed(accounts, {"disagree": 10})
    monkeypatch.setattr(routing, "PAGE", 3)
    settings = ReviewSettings.model_validate({"audit": {"share": 0}})
    with session_scope() as s:
        pages = list(
            routing.reason_pages(s, run_id=rid, judge_version="1", settings=settings, calibrated=True)
        )
    assert [len(p) for p in pages] == [3, 3, 3, 1]
    assert [g for p in pages for g, _, _ in p] == case["disagree"]
