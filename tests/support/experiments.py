"""Runs evaluated in given states for the experiments tests (the API's and the dashboard's)."""

from __future__ import annotations

from sqlalchemy import insert

from tests.support.env import unique
from tests.support.factories import make_run, make_stage, prompt_ids
from tests.support.prompts import seed_prompt_set, write_jsonl

# per prompt: passed or not (4 held-out prompts)
BASE = [1, 0, 0, 0]
STUDENT_A = [1, 1, 1, 0]  # +50 points over the base
STUDENT_B = [1, 0, 0, 0]  # nothing gained


def _evaluate(s, run, pset: int, prompts: list[int], outcomes: dict[str, list[int]]) -> None:
    from backend.evals.models import EvalSample, Evaluation

    for role, passed in outcomes.items():
        share = sum(passed) / len(passed)
        ci = [max(share - 0.2, 0), min(share + 0.2, 1)]
        metrics = {"pass_at_1": share, "pass_at_1_ci": ci}
        ev = Evaluation(project_id=run.project_id, run_id=run.id, label=role, model=f"m-{role}", role=role,
                        prompt_set_id=pset, verifier="math", metrics=metrics)  # fmt: skip
        s.add(ev)
        s.flush()
        s.execute(insert(EvalSample), [
            {"evaluation_id": ev.id, "prompt_id": p, "sample": 0, "status": "ok", "passed": bool(ok)}
            for p, ok in zip(prompts, passed, strict=True)
        ])  # fmt: skip


def evaluated_runs(pid: int, tmp_path) -> dict[str, int]:
    """Four runs on one 4-prompt set: a (filter on, 4 attempts, +50 points, $1, 20 + 30 GPU-seconds),
    b (filter off, 8 attempts, nothing gained, no base evaluation of its own), `other` (evaluated on the
    first 2 prompts only) and `bare` (no evaluate stage); by name, their ids."""
    from backend.core.db import session_scope

    rows = [{"prompt": f"What is {i} + {i}?", "reference": str(2 * i)} for i in range(4)]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('x')}.jsonl", rows))
    ev = {"split": "eval"}
    with session_scope() as s:
        prompts = prompt_ids(s, pset)
        a = make_run(s, project_id=pid, prompt_set_id=pset, status="succeeded", name="verified",
                     recipe={"prompt_set_id": pset, "stages": ["rollout", "filter", "train", "evaluate"],
                             "rollout": {"n": 4, "chunk_size": 10}, "evaluate": ev},
                     summary={"rollout": {"cost_usd": 1.0, "gpu_seconds": 20.0}})  # fmt: skip
        make_stage(s, a, "train", status="succeeded", elapsed_before_s=30.0)
        _evaluate(s, a, pset, prompts, {"base": BASE, "student": STUDENT_A, "teacher": [1, 1, 1, 1]})
        b = make_run(s, project_id=pid, prompt_set_id=pset, status="succeeded", name="plain",
                     recipe={"prompt_set_id": pset, "stages": ["rollout", "train", "evaluate"],
                             "rollout": {"n": 8, "chunk_size": 99}, "evaluate": ev},
                     summary={"rollout": {"cost_usd": 2.0, "gpu_seconds": 5.0}})  # fmt: skip
        _evaluate(s, b, pset, prompts, {"student": STUDENT_B})  # no base of its own: the experiment's
        other = make_run(s, project_id=pid, prompt_set_id=pset, status="succeeded",
                         recipe={"prompt_set_id": pset, "stages": ["evaluate"],
                                 "evaluate": {"split": "eval", "max_prompts": 2}})  # fmt: skip
        bare = make_run(s, project_id=pid, prompt_set_id=pset, status="succeeded",
                        recipe={"prompt_set_id": pset, "stages": ["rollout"]})  # fmt: skip
        return {"a": a.id, "b": b.id, "other": other.id, "bare": bare.id}


def pressure_experiment(pid: int, tmp_path, *, name: str = "pressure test 1") -> int:
    """A finished pressure test, as its run leaves it: the base student passes none of 4 held-out
    prompts, the teacher all; returns the experiment's id."""
    from backend.core.db import session_scope
    from backend.experiments.models import Experiment

    rows = [{"prompt": f"What is {i} times {i}?", "reference": str(i * i)} for i in range(4)]
    pset = seed_prompt_set(pid, write_jsonl(tmp_path / f"{unique('p')}.jsonl", rows))
    es = {"prompt_set_id": pset, "split": "all", "max_prompts": 4}
    with session_scope() as s:
        prompts = prompt_ids(s, pset)
        run = make_run(s, project_id=pid, prompt_set_id=pset, status="succeeded", name=name,
                       recipe={"prompt_set_id": pset, "stages": ["evaluate"], "evaluate": es})  # fmt: skip
        _evaluate(s, run, pset, prompts, {"base": [0, 0, 0, 0], "teacher": [1, 1, 1, 1]})
        exp = Experiment(project_id=pid, name=name, kind="pressure", prompt_set_id=pset, eval_set=es,
                         run_ids=[run.id], settings={"margin": 0.05}, auto=False)  # fmt: skip
        s.add(exp)
        s.flush()
        return exp.id
