"""The gates agree, run in this process on PostgreSQL: the snapshot stage admits nothing the train
pre-flight refuses (cut at max_tokens whoever accepted it: the judge deciding every attempt, a human
accept, an edit; empty answers), leaves out an edit the verifiers reject unless a reviewer overrode
them, verifies an edit still pending itself; an unparseable judge reply leaves the verifiers' verdict
standing, recorded as such."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from tests.support.env import DATA_DIR, unique
from tests.support.factories import make_generations, make_run, make_verdicts
from tests.support.prompts import seed_prompt_set, write_jsonl

WRONG = {"status": "wrong", "passed": False, "verifier": "math", "version": "1", "detail": {}, "parts": []}
# (generation fields, the human decision on it or None, what the snapshot does with it)
PLAN = [
    ({"content": "", "finish_reason": "length", "accepted": True}, None, "truncated"),  # the judge took it
    ({"content": "Answer: 1", "finish_reason": "length", "accepted": True}, None, "truncated"),
    ({"content": "", "finish_reason": "stop", "accepted": True}, None, "empty"),
    ({"content": "Answer: 3", "finish_reason": "stop", "accepted": True}, None, "row"),
    ({"content": "Answer: 4", "finish_reason": "length", "accepted": False}, ("accept", None), "truncated"),
    ({"content": "Answer: 5", "finish_reason": "length", "accepted": False},
     ("edit", {"content": "Answer: 5"}), "truncated"),  # an edit never mends a cut trace
    ({"content": "Answer: 0", "finish_reason": "stop", "accepted": False},
     ("edit", {"content": "Answer: 66", "verdict": WRONG}), "edit_rejected"),
    ({"content": "Answer: 0", "finish_reason": "stop", "accepted": False},
     ("edit", {"content": "Answer: 77", "verdict": WRONG, "override": True}), "row"),
    ({"content": "Answer: 0", "finish_reason": "stop", "accepted": False},
     ("edit", {"content": "Answer: 8", "verdict": {"status": "pending", "passed": None}}), "row"),
]  # fmt: skip


def _seed(accounts, tmp_path, stages):
    from backend.core.db import session_scope

    owner = accounts.user()
    pid = accounts.project(owner)
    rows = [{"prompt": f"question {i}", "reference": str(i)} for i in range(len(PLAN))]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('g')}.jsonl", rows))
    recipe = {"prompt_set_id": pset, "stages": list(stages), "snapshot": {"drop_near_duplicates": False}}
    with session_scope() as s:
        run = make_run(s, project_id=pid, prompt_set_id=pset, stages=stages, status="running", recipe=recipe)
        gids = make_generations(s, run, each=lambda k: {"reasoning": None, **PLAN[k][0]})
        return pid, run.id, pset, recipe, gids, owner["id"]


def _snapshot(run_id: int, recipe: dict):
    from backend.core.db import session_scope
    from backend.datasets.schemas import SnapshotSettings
    from backend.runs.models import RunStage
    from workers.runner import StageContext
    from workers.stages.snapshot import write_snapshot

    with session_scope() as s:
        stage = s.scalar(select(RunStage).where(RunStage.run_id == run_id, RunStage.kind == "snapshot"))
        ctx = StageContext(
            stage.id, run_id, recipe, recipe["prompt_set_id"], SnapshotSettings(**recipe["snapshot"])
        )
    return write_snapshot(ctx)


def test_the_snapshot_admits_only_what_training_accepts(accounts, tmp_path):
    from backend.core.db import session_scope
    from backend.reviews.models import Review
    from workers.training import checks

    stages = {"rollout": "succeeded", "filter": "succeeded", "judge": "succeeded", "review": "succeeded",
              "snapshot": "running"}  # fmt: skip
    pid, rid, _, recipe, gids, owner = _seed(accounts, tmp_path, stages)
    with session_scope() as s:
        from backend.runs.models import Run

        make_verdicts(s, s.get_one(Run, rid), gids, verifier="judge", status="passed", score=5.0)
        for gid, (fields, human, _) in zip(gids, PLAN, strict=True):
            if human is not None:  # decisions stored as an older release (no 422 then) would have
                decision, after = human
                s.add(Review(run_id=rid, generation_id=gid, reviewer_id=owner, decision=decision,
                             before={"content": fields["content"], "reasoning": None},
                             after=after and {"reasoning": None, **after}))  # fmt: skip

    out = _snapshot(rid, recipe)
    c = out["counts"]
    want = [what for *_, what in PLAN]
    assert (c["excluded_truncated"], c["excluded_empty"], c["excluded_edit_rejected"]) == (
        want.count("truncated"), want.count("empty"), want.count("edit_rejected")
    )  # fmt: skip
    folder = DATA_DIR / "snapshots" / str(pid) / out["content_hash"]
    rows = [orjson.loads(x) for x in (folder / "messages.jsonl").read_bytes().splitlines()]
    admitted = {r["generation_id"]: r["messages"][-1]["content"] for r in rows}
    assert admitted == {
        gids[3]: "Answer: 3", gids[7]: "Answer: 77", gids[8]: "Answer: 8"
    }  # fmt: skip
    card = (folder / "README.md").read_text()
    assert "1 reviewer edit(s) left out: the run's verifiers reject the edited text" in card
    assert "1 accepted attempt(s) left out: no answer at all (empty)" in card

    # the pending edit was verified by the snapshot stage itself, and its verdict stored with it
    with session_scope() as s:
        after = s.scalar(select(Review.after).where(Review.generation_id == gids[8]))
    assert after["verdict"]["status"] == "passed" and after["verdict"]["passed"] is True

    # and the train pre-flight's data checks find nothing to refuse in what was written
    convos = [r["messages"] for r in rows]
    from workers.training.data import truncated_generations

    x = checks.Inputs(None, None, convos, list(admitted), truncated_generations(list(admitted)), set(), [], 0,
                      "exclude")  # fmt: skip
    assert checks.FUNCTIONS["admission"](x).bad == [] and checks.FUNCTIONS["truncated_traces"](x).bad == []


def test_an_edit_the_verifier_cannot_check_fails_the_snapshot_never_a_verdict(
    accounts, tmp_path, monkeypatch
):
    from backend.core.db import session_scope
    from backend.reviews.models import Review
    from workers import edits

    stages = {"rollout": "succeeded", "filter": "succeeded", "review": "succeeded", "snapshot": "running"}
    _, rid, _, recipe, gids, owner = _seed(accounts, tmp_path, stages)
    with session_scope() as s:
        after = {"content": "Answer: 3", "reasoning": None, "verdict": dict(PENDING)}
        s.add(Review(run_id=rid, generation_id=gids[3], reviewer_id=owner, decision="edit", after=after))

    def broken(combo, items):
        raise OSError("bwrap: cannot create the sandbox")

    monkeypatch.setattr(edits, "verify_many", broken)
    with pytest.raises(RuntimeError, match="1 reviewer edit"):
        _snapshot(rid, recipe)
    with session_scope() as s:
        verdict = s.scalar(select(Review.after).where(Review.generation_id == gids[3]))["verdict"]
    assert verdict["status"] == "error" and verdict["passed"] is None and "sandbox" in verdict["error"]


PENDING = {"status": "pending", "passed": None}


def test_an_unparseable_judge_reply_leaves_the_verifiers_verdict(accounts, tmp_path):
    """The judge decides every attempt (overrides_verifiers); where its reply has no score, the
    verifiers' verdict decides, and the judge's verdict row says so."""
    from backend.core.db import session_scope
    from backend.judge.schemas import JudgeSettings
    from backend.runs.models import RunStage, StageChunk
    from backend.samples.models import Generation, Verdict
    from workers.stages.judge.job import JudgeJob
    from workers.stages.judge.writer import FALLBACK, Judged, JudgeWriter
    from workers.teachers.base import Completion

    stages = {"rollout": "succeeded", "filter": "succeeded", "judge": "running"}
    _, rid, pset, _, gids, _ = _seed(accounts, tmp_path, stages)
    with session_scope() as s:
        stage = s.scalar(select(RunStage).where(RunStage.run_id == rid, RunStage.kind == "judge"))
        chunk = StageChunk(stage_id=stage.id, index=0, first_position=0, last_position=8, items=9)
        s.add(chunk)
        s.flush()
        stage_id, chunk_id = stage.id, chunk.id
    job = JudgeJob(
        stage_id=stage_id, chunk_id=chunk_id, run_id=rid, prompt_set_id=pset, first=0, last=8,
        settings=JudgeSettings(overrides_verifiers=True), rollout=None, teacher=None, quote=None,
        rubric={"version": 1, "template": "{answer}", "scale": "score", "lo": 1, "hi": 5},
        thresholds={"accept": 5, "reject": 5, "source": "settings"}, cache_prefix=b"",
        filter_final=("math", "1"),
    )  # fmt: skip
    said = {0: (True, "I cannot tell."), 1: (False, "no score here"), 2: (None, "still nothing"),
            3: (False, '{"score": 5, "rationale": "right"}')}  # fmt: skip
    items = [
        Judged(gids[k], passed, Completion(reply, None, "stop"), f"k{k}")
        for k, (passed, reply) in said.items()
    ]
    JudgeWriter(job, lambda s, stage: None).flush(items)
    with session_scope() as s:
        got = {
            g: (acc, st, d.get("final"))
            for g, acc, st, d in s.execute(
                select(Generation.id, Generation.accepted, Verdict.status, Verdict.detail)
                .join(Verdict, Verdict.generation_id == Generation.id)
                .where(Generation.run_id == rid, Verdict.verifier == "judge")
            )
        }
    assert got == {
        gids[0]: (True, "unparseable", FALLBACK),  # a verified pass is not dropped
        gids[1]: (False, "unparseable", FALLBACK),
        gids[2]: (None, "unparseable", None),  # no verifier decided either: left for review
        gids[3]: (True, "passed", None),  # a reply with a score decides, as before
    }
    assert FALLBACK == "judge reply unparseable; verifier decided"
    with session_scope() as s:  # counted for the stage's summary (judge.verifier_decided)
        counters = s.get_one(StageChunk, chunk_id).counters
    assert (counters["unparseable"], counters["verifier_decided"], counters["accepted"]) == (3, 2, 1)
