"""The distillation the demo shows, driven through the REST API as a user would: a prompt set of
multiplication problems, the project's tiny teacher (which skips its working on x8 and x9), sampled at
temperature 1.0 until two attempts of a prompt pass the math verifier (at most eight: adaptive
sampling), a snapshot of the verified traces, an SFT student 7x smaller, and the evaluation against its
base and the teacher. Two ablations: the student on unfiltered traces (three plain attempts per prompt,
about what the adaptive rollout drew on average, all kept), and on the verified answers without their
reasoning. The response cache answers every attempt a run asks for that an earlier one drew. Extra arms
(EXTRA_ARMS: kd from the teacher's captured top-K logprobs, on-policy distillation against the served
teacher) run with --seeds 3 and up, or when
`--arms` names them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from backend.demo_kd import kd
from backend.demo_onpolicy import onpolicy

ROOT = Path(__file__).resolve().parents[1]
TASK = ROOT / "examples" / "multiply"
TEACHER = Path(os.environ.get("DISTILLERY_DEMO_TEACHER", TASK / "teacher"))  # override: a teacher of your own


@dataclass(frozen=True)
class Size:
    prompts: int  # train + eval
    eval_ratio: float
    attempts: int  # the most a prompt is sampled (rollout.n)
    keep: int  # ... stopping once this many passed the verifier (rollout.stop_when_verified)
    plain: int  # attempts per prompt of the unfiltered arm, no verifier in the loop
    steps: int
    eval_prompts: int
    onpolicy_steps: int = 200  # the on-policy arm's steps: each samples the student's completions first


@dataclass(frozen=True)
class ExtraContext:
    """What an extra arm's recipe is made from: the verified arm's snapshot (its prompts), the seed."""

    api: Api
    pid: int
    pset: int
    size: Size
    seed: int
    snapshot_id: int
    base: Path
    console: Console
    data_dir: Path  # the demo's files (var/): the on-policy arm's widened teacher is written there


SIZES = {
    "full": Size(
        prompts=1400,
        eval_ratio=0.15,
        attempts=8,
        keep=2,
        plain=3,
        steps=1000,
        eval_prompts=200,
        onpolicy_steps=200,
    ),
    "small": Size(
        prompts=120,
        eval_ratio=0.25,
        attempts=4,
        keep=1,
        plain=2,
        steps=40,
        eval_prompts=20,
        onpolicy_steps=10,
    ),
}
ARMS = {  # snapshot settings per arm
    "verified": {"drop_near_duplicates": False, "preference_pairs": False},
    "unfiltered": {"drop_near_duplicates": False, "preference_pairs": False, "include": "all"},
    "answers_only": {"drop_near_duplicates": False, "preference_pairs": False, "reasoning": "drop"},
}


# Arms beyond the three above: each makes its own run's recipe (from the verified arm's snapshot), runs
# when --seeds >= 3 or `distillery demo --arms NAME` names it, and adds its row to the table. `make demo`
# (one seed, no --arms) runs none, so it stays as it was.
EXTRA_ARMS: dict[str, Callable[[ExtraContext], dict]] = {"kd": kd, "onpolicy": onpolicy}
EXTRA_LABELS = {
    "kd": "student on verified traces + teacher top-K (kd)",
    "onpolicy": "student on-policy from the teacher",
}


def _task():
    sys.path.insert(0, str(TASK))
    import student
    import task

    return task, student


class Api:
    def __init__(self, client: httpx.Client):
        self.c = client

    def __call__(self, method: str, url: str, **kw) -> Any:
        resp = self.c.request(method, url, **kw)
        if resp.status_code >= 400:
            raise RuntimeError(f"{method} {url} -> {resp.status_code}: {resp.text[:2000]}")
        return resp.json() if resp.content else None  # a 204 (a delete) has no body

    def wait(self, url: str, what: str, timeout: float, console: Console | None = None) -> dict:
        deadline, seen = time.monotonic() + timeout, dict[int, str]()
        while time.monotonic() < deadline:
            obj = self("GET", url)
            for st in obj.get("stages", []):
                line = f"{st['status']} {st['progress_done']}/{st['progress_total']}"
                if console is not None and st["status"] != "pending" and seen.get(st["id"]) != line:
                    if st["status"] in ("succeeded", "failed") or seen.get(st["id"]) is None:
                        console.print(f"  {what}: {st['kind']} {st['status']}")
                    seen[st["id"]] = line
            if obj["status"] in ("succeeded", "failed", "cancelled"):
                return obj
            time.sleep(0.5)
        raise RuntimeError(f"{what} did not finish in {timeout:.0f} s")


def prompt_set(api: Api, pid: int, size: Size, data_dir: Path, console: Console) -> dict:
    task, _ = _task()
    name = f"multiply-{size.prompts}"
    found = [p for p in api("GET", f"/api/projects/{pid}/prompt-sets") if p["name"] == name]
    if found:
        return found[0]
    path = data_dir / "demo" / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in task.rows(size.prompts, seed=1)))
    options = {"near_dup_threshold": None, "eval_ratio": size.eval_ratio}
    with path.open("rb") as fh:
        form = {"name": name, "options": json.dumps(options)}
        files = {"file": (path.name, fh, "application/jsonl")}
        job = api("POST", f"/api/projects/{pid}/prompt-sets", data=form, files=files)
    job = api.wait(f"/api/projects/{pid}/jobs/{job['id']}", "import", 120)
    if job["status"] != "succeeded":
        raise RuntimeError(f"import failed: {job['error']}")
    pset = job["result"]["prompt_set"]
    console.print(f"prompt set {pset['id']}: {pset['prompt_count']} multiplication problems")
    return pset


def teacher(api: Api, pid: int) -> int:
    for t in api("GET", f"/api/projects/{pid}/teachers"):
        if t["name"] == "tiny-multiplier":
            return t["id"]
    body = {
        "name": "tiny-multiplier",
        "backend": "transformers_local",
        "model": str(TEACHER),
        "settings": {"batch_size": 256, "device": "cpu"},  # big batches: fewer decode steps
    }
    return api("POST", f"/api/projects/{pid}/teachers", json=body)["id"]


def recipe(pset: int, tid: int, size: Size, arm: str, seed: int, base: Path) -> dict:
    return {
        "prompt_set_id": pset,
        "teacher_id": tid,
        "stages": ["rollout", "filter", "snapshot", "train", "evaluate"],
        "rollout": {
            **(
                {"n": size.plain}
                if arm == "unfiltered"
                else {"n": size.attempts, "stop_when_verified": size.keep}
            ),
            "temperature": 1.0,
            "max_tokens": 160,
            "seed": 0,
            "chunk_size": 300,
        },
        "filter": {"verifiers": {"verifiers": [{"name": "math"}]}},
        "snapshot": ARMS[arm],
        "train": {
            "student": str(base),
            "method": "sft",
            "learning_rate": 3e-3,
            "lr_scheduler_type": "cosine",
            "warmup_ratio": 0.05,
            "max_steps": size.steps,
            "per_device_batch_size": 32,
            "seed": seed,
            "save_steps": max(size.steps // 2, 10),
        },
        "evaluate": {
            "models": [{"role": "base"}, {"role": "student"}, {"role": "teacher"}]
            if arm == "verified"
            else [{"role": "student"}],
            "max_tokens": 160,
            "max_prompts": size.eval_prompts,
        },
    }


def run_arms(
    api: Api,
    pid: int,
    size: Size,
    seeds: list[int],
    data_dir: Path,
    console: Console,
    extra: tuple[str, ...] = (),
) -> list[dict]:
    """Each arm for each seed, one run each; returns the finished runs. The first run's rollout is the
    only one that generates: the others are queued once it is done, and the response cache answers
    theirs. The extra arms train on the first run's snapshot, queued once it is written."""
    _, student = _task()
    base = student.build(data_dir / "demo" / "student-base")
    pset = prompt_set(api, pid, size, data_dir, console)
    tid = teacher(api, pid)
    done = {r["name"]: r for r in _finished_runs(api, pid)}
    todo = [(arm, seed) for seed in seeds for arm in ARMS]
    queued: dict[tuple[str, int], int] = {}
    for i, (arm, seed) in enumerate(todo):
        name = f"demo-{arm}-{size.prompts}-seed{seed}"
        if name in done:  # a demo that ran before: its runs are reused, not redone
            queued[(arm, seed)] = done[name]["id"]
            continue
        body = {"name": name, "recipe": recipe(pset["id"], tid, size, arm, seed, base)}
        run = api("POST", f"/api/projects/{pid}/runs", json=body)
        queued[(arm, seed)] = run["id"]
        console.print(f"run {run['id']}: {arm}, seed {seed}")
        if i == 0:
            _wait_stage(api, pid, run["id"], "rollout", console)
    if extra:
        first = queued[todo[0]]
        snap = _wait_stage(api, pid, first, "snapshot", console)["metrics"]["snapshot_id"]
        for arm, seed in [(a, seed) for seed in seeds for a in extra]:
            name = f"demo-{arm}-{size.prompts}-seed{seed}"
            if name in done:
                queued[(arm, seed)] = done[name]["id"]
                continue
            x = ExtraContext(api, pid, pset["id"], size, seed, snap, base, console, data_dir)
            run = api("POST", f"/api/projects/{pid}/runs", json={"name": name, "recipe": EXTRA_ARMS[arm](x)})
            queued[(arm, seed)] = run["id"]
            console.print(f"run {run['id']}: {arm}, seed {seed}")
    runs = []
    for (arm, seed), run_id in queued.items():
        run = api.wait(f"/api/projects/{pid}/runs/{run_id}", f"{arm}/{seed}", 3600, console)
        if run["status"] != "succeeded":
            failed = [f"{s['kind']}: {s['error']}" for s in run["stages"] if s["error"]]
            raise RuntimeError(f"run {run['id']} ({arm}) {run['status']}: {'; '.join(failed)}")
        runs.append({"arm": arm, "seed": seed, **run})
    return runs


def _wait_stage(api: Api, pid: int, run_id: int, kind: str, console: Console, timeout: float = 1800) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = api("GET", f"/api/projects/{pid}/runs/{run_id}")
        stage = next(s for s in run["stages"] if s["kind"] == kind)
        if stage["status"] == "succeeded":
            console.print(f"  run {run_id}: {kind} succeeded; the other runs are queued")
            return stage
        if run["status"] in ("failed", "cancelled"):
            failed = [f"{s['kind']}: {s['error']}" for s in run["stages"] if s["error"]]
            raise RuntimeError(f"run {run_id} {run['status']}: {'; '.join(failed)}")
        time.sleep(0.5)
    raise RuntimeError(f"run {run_id}: {kind} did not finish in {timeout:.0f} s")


def _finished_runs(api: Api, pid: int) -> list[dict]:
    out, cursor = [], None
    while True:
        page = api(
            "GET",
            f"/api/projects/{pid}/runs",
            params={"limit": 200, "status": "succeeded", **({"cursor": cursor} if cursor else {})},
        )
        out += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return out
